"""crm-scoring: the command line. Thin: it parses, prepares the environment and calls operations."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from crm_scoring.app import operations
from crm_scoring.devtools.synthetic import SIZES as SIZE_NAMES
from crm_scoring.devtools.synthetic import GeneratedCounts
from crm_scoring.environment import configure_environment
from crm_scoring.rules.config import ScoringConfigError
from crm_scoring.settings import (
    DATABASE_URL_ENV,
    PROJECT_ROOT,
    ConfigError,
    Settings,
    load_scoring_config,
    load_settings,
)
from crm_scoring.warehouse.summaries import day_summary
from crm_scoring.warehouse.urls import describe, warehouse_engine

# What `--data` chooses: the generator shaped like the churn rules, or the honest simulator.
DATA_MODES = ("rules", "honest")
# Enough days that the backtest of the newest ones judges scores of backfilled days.
DEMO_BACKFILL_DAYS = 120


def main(argv: list[str] | None = None) -> int:
    """The process's entry point (the console script and ``python -m``), not a library call."""
    try:
        return _command(argv)
    finally:
        # The command is over; the collections the interpreter makes as it exits would walk the
        # 400k+ objects Dagster, dbt and pandas made: 0.6 s of a 6 s one-tenant rerun. Frozen
        # objects are skipped; every finalizer and atexit hook still runs.
        gc.freeze()


def _command(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (operations.UsageError, ConfigError, ScoringConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except operations.RunInterrupted as exc:
        print(
            f"interrupted: run {exc.run_id} stopped and is recorded as failed; the same command "
            "again resumes (a backfill skips what is materialized)",
            file=sys.stderr,
        )
        return 130
    except OperationalError as exc:
        url = os.environ.get(DATABASE_URL_ENV, "")
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"error: cannot reach PostgreSQL at {describe(url)}: {reason}", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-scoring", description="Daily engagement and churn-risk scoring for a CRM."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="embedded database + demo data, score yesterday, print it")
    demo.add_argument("--seed", type=int, default=7)
    _add_data_choice(demo)
    demo.add_argument(
        "--days", type=int, default=DEMO_BACKFILL_DAYS, help="days backfilled up to yesterday (at least 61)"
    )
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="score one day for all or some tenants, through Dagster")
    run.add_argument("--date", required=True, help="the day to score, YYYY-MM-DD")
    run.add_argument("--tenant", action="append", help="a tenant to score (repeatable); default all")
    run.set_defaults(handler=_run)

    train = commands.add_parser(
        "train-model", help="train the learned churn model now (also weekly), through Dagster, and print it"
    )
    train.add_argument(
        "--observed-until", help="the last day whose events count, YYYY-MM-DD; default yesterday"
    )
    train.set_defaults(handler=_train_model)

    backfill = commands.add_parser(
        "backfill", help="score a range of past days, a few Dagster runs per month, resumable"
    )
    backfill.add_argument("--from", dest="first", required=True, help="the first day, YYYY-MM-DD")
    backfill.add_argument("--to", dest="last", required=True, help="the last day, YYYY-MM-DD")
    backfill.add_argument("--tenant", action="append", help="a tenant to score (repeatable); default all")
    backfill.add_argument("--force", action="store_true", help="also rerun partitions already materialized")
    backfill.add_argument(
        "--days-per-run", type=int, default=31, help="days one run covers (start-up is paid per run)"
    )
    backfill.set_defaults(handler=_backfill)

    status = commands.add_parser("status", help="each tenant's state for a day, from Dagster")
    status.add_argument("--date", required=True, help="the day, YYYY-MM-DD")
    status.set_defaults(handler=_status)

    rerun = commands.add_parser("rerun-failed", help="rerun only the tenants whose day failed")
    rerun.add_argument("--date", required=True, help="the day, YYYY-MM-DD")
    rerun.add_argument(
        "--include-missing", action="store_true", help="also score the tenants never scored that day"
    )
    rerun.set_defaults(handler=_rerun_failed)

    generate = commands.add_parser("generate", help="load synthetic CRM data into the source tables")
    generate.add_argument("--size", default="small", choices=sorted(SIZE_NAMES))
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--replace", action="store_true", help="empty the source tables first")
    _add_data_choice(generate)
    _add_size_overrides(generate)
    generate.set_defaults(handler=_generate)

    bench = commands.add_parser("bench", help="graph vs the per-profile baseline vs the scan limit")
    bench.add_argument("--size", default="small", choices=sorted(SIZE_NAMES))
    bench.add_argument("--json", type=Path, help="also write the figures to this file")
    bench.add_argument("--sample", type=int, default=2000, help="profiles the baseline scores")
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--reuse-data", action="store_true", help="score the data already loaded")
    _add_data_choice(bench)
    bench.add_argument(
        "--backfill-days", type=int, default=0, help="also backfill this many days before it, timed"
    )
    bench.add_argument(
        "--scored-days",
        type=_positive_days,
        default=1,
        help="days the first run scores before the timed day (default 1; more: a backfill, a history kept)",
    )
    bench.add_argument(
        "--model",
        action="store_true",
        help="instead: the churn model's training (12 month-ends) and daily predictions, timed",
    )
    _add_size_overrides(bench)
    bench.set_defaults(handler=_bench)

    token = commands.add_parser("api-token", help="bearer tokens for the analytics HTTP API")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="a new token for one tenant (shown once)")
    create.add_argument("--tenant", required=True)
    create.set_defaults(handler=_create_token)
    listing = token_commands.add_parser(
        "list", help="every token: id, tenant, created, revoked (never the token)"
    )
    listing.set_defaults(handler=_list_tokens)
    revoke = token_commands.add_parser(
        "revoke", help="revoke one token by its id, or every token of a tenant"
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="token_id", help="the token's id, as `api-token list` shows it")
    which.add_argument("--tenant", help="revoke every token of this tenant")
    revoke.set_defaults(handler=_revoke_tokens)

    alerts = commands.add_parser("alerts", help="the churn-alert outbox")
    alert_commands = alerts.add_subparsers(required=True, metavar="ACTION")
    deliver = alert_commands.add_parser(
        "deliver", help="one delivery pass of the outbox to CRM_SCORING_ALERT_WEBHOOK_URL"
    )
    deliver.set_defaults(handler=_deliver_alerts)

    reader = commands.add_parser("grant-reader", help="a read-only, one-tenant login role for BI")
    reader.add_argument("--tenant", required=True)
    reader.set_defaults(handler=_grant_reader)

    api = commands.add_parser("api", help="the analytics HTTP API on 127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=_api)

    preview = commands.add_parser(
        "preview", help="how a tenant's distributions would move under another scoring config"
    )
    preview.add_argument("--tenant", required=True, help="the tenant id")
    preview.add_argument("--config", required=True, type=Path, help="the proposed scoring config (YAML)")
    preview.add_argument(
        "--date", help="the day whose features to score, YYYY-MM-DD; default its newest scored"
    )
    preview.set_defaults(handler=_preview)

    init_db = commands.add_parser(
        "init-db",
        help="create the source contract, migrate the analytics tables to this version (the "
        "upgrade: runs refuse an outdated schema), publish the BI views",
    )
    init_db.set_defaults(handler=_init_db)

    docs = commands.add_parser("docs", help="build dbt's documentation site (columns, lineage, exposures)")
    docs.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1")
    docs.add_argument("--port", type=int, default=8080)
    docs.set_defaults(handler=_docs)

    ui = commands.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)
    return parser


def _demo(args: argparse.Namespace) -> int:
    if os.environ.get(DATABASE_URL_ENV):
        raise operations.UsageError(
            "demo replaces the source tables with generated data, so it only runs on the embedded "
            f"database: unset {DATABASE_URL_ENV}, or use `generate` and `run` on your own database."
        )
    from crm_scoring.devtools import synthetic

    load_scoring_config()  # an invalid scoring config is refused before anything starts
    settings = load_settings()
    if args.days <= settings.churn_horizon_days:
        raise operations.UsageError(
            f"--days {args.days}: the backtest of yesterday judges the scores of "
            f"{settings.churn_horizon_days} days before it, so backfill at least "
            f"{settings.churn_horizon_days + 1} days"
        )
    _, engine = _ready_database()
    today = operations.today_in(settings)
    print(f"Generating demo data ({args.data}: 4 tenants, 1,200 customers, a year of history)…")
    counts = _generator(args.data)(
        engine,
        settings.source_schema,
        synthetic.SIZES["demo"],
        end=operations.synthetic_history_end(settings),
        seed=args.seed,
        replace=True,
    )
    print(
        f"Loaded {counts.customer_profiles} profiles, {counts.activities} activities, "
        f"{counts.campaign_interactions} campaign interactions, {counts.customer_notes} notes."
    )
    yesterday = today - timedelta(days=1)
    first = yesterday - timedelta(days=args.days - 1)
    print(
        f"Backfilling {args.days} days up to yesterday, each scored with the CRM as of that "
        f"day; a day's churn backtest judges the scores of {settings.churn_horizon_days} days before."
    )
    # Only the demo's tenants: the instance may remember others from earlier data (a benchmark).
    tenants = synthetic.tenant_ids(synthetic.SIZES["demo"].tenants)
    if _backfill_days(engine, settings, first, yesterday - timedelta(days=1), tenants, True, 31):
        return 1
    return _score_and_report(engine, settings, yesterday, tenants)


def _ready_database() -> tuple[Settings, Engine]:
    """Settings, and an engine on a database whose tables exist and whose analytics schema is
    at the code's revision (the embedded one by default): init-db's work, a no-op once done."""
    settings = load_settings()
    engine = warehouse_engine(configure_environment())
    operations.init_db(engine, settings)
    return settings, engine


def _day_command(args: argparse.Namespace) -> tuple[Settings, date, Engine]:
    """What every --date command starts with: a valid day and a ready database."""
    settings = load_settings()
    day = operations.parse_day(args.date, settings, operations.today_in(settings))  # before any DB
    _, engine = _ready_database()
    return settings, day, engine


def _day_statuses(
    engine: Engine, settings: Settings, day: date
) -> tuple[list[str], list[operations.TenantStatus]]:

    with operations.dagster_instance() as instance:
        registered = operations.sync_tenants(instance, engine, settings)
        return registered, operations.day_status(instance, day, registered)


def _run(args: argparse.Namespace) -> int:
    load_scoring_config()  # an invalid scoring config is refused before anything starts
    settings, day, engine = _day_command(args)
    return _score_and_report(engine, settings, day, args.tenant)


def _backfill(args: argparse.Namespace) -> int:
    load_scoring_config()  # an invalid scoring config is refused before anything starts
    settings = load_settings()
    today = operations.today_in(settings)
    first = operations.parse_day(args.first, settings, today, "--from")
    last = operations.parse_day(args.last, settings, today, "--to")
    if first > last:
        raise operations.UsageError(f"--from {first} is after --to {last}")
    if args.days_per_run < 1:
        raise operations.UsageError("--days-per-run must be at least 1")
    _, engine = _ready_database()
    return _backfill_days(engine, settings, first, last, args.tenant, args.force, args.days_per_run)


def _backfill_days(engine, settings, first, last, wanted, force: bool, days_per_run: int) -> int:

    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    log = settings.home / "logs" / f"backfill-{first}-{last}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with operations.dagster_instance() as instance:
        registered = operations.sync_tenants(instance, engine, settings)
        tenants = operations.resolve_tenant_keys(registered, wanted)
        if not operations.views_exist(engine, settings):
            _publish_views(instance, settings)
        pending = operations.pending_partitions(instance, days, tenants, force)
        runs = operations.backfill_runs(pending, registered, days_per_run)
        todo = sum(len(keys) for keys in pending.values())
        print(
            f"Backfilling {first} … {last}: {len(days)} day(s) x {len(tenants)} tenant(s); "
            f"{todo} partition(s) to score in {len(runs)} run(s), "
            f"{len(days) * len(tenants) - todo} already materialized (skipped; --force reruns them)."
        )
        started = time.monotonic()
        failed = []
        for index, run in enumerate(runs, 1):
            run_started = time.monotonic()
            first, *isolations = operations.score_and_isolate(
                instance, run.tags(), run.first_tenant, run.last_tenant, log
            )
            print(
                f"[{index}/{len(runs)}] {run.first_day} … {run.last_day}, tenants {run.first_tenant} … "
                f"{run.last_tenant}: {'succeeded' if first.success else 'FAILED'} in "
                f"{time.monotonic() - run_started:.1f} s (run {first.run_id})",
                flush=True,
            )
            _print_outcomes(isolations)
            if not first.success and not (isolations and all(o.success for o in isolations)):
                failed.append(first.run_id)
    seconds = time.monotonic() - started
    per_day = f", {seconds / len(days):.2f} s per day" if runs else ""
    print(f"Backfill done in {seconds:.1f} s{per_day}; dbt output: {log}")
    if failed:
        print(
            f"error: {len(failed)} run(s) failed ({', '.join(failed)}); `crm-scoring status --date D` names "
            "the tenants, and running the same backfill again retries only what is not materialized",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _status(args: argparse.Namespace) -> int:
    settings, day, engine = _day_command(args)
    registered, statuses = _day_statuses(engine, settings, day)
    names = operations.tenant_names(engine, settings, registered)
    width = max([len(name) for name in names.values()] + [6])
    print(f"{'tenant':<{width}}  state          run")
    for status in statuses:
        print(f"{names[status.tenant_id]:<{width}}  {status.state:<13}  {status.run_id or ''}")
        if status.error:
            print("    " + status.error.replace("\n", "\n    "))
    counts = {state: sum(s.state == state for s in statuses) for state in ("materialized", "failed")}
    print(
        f"{day}: {counts['materialized']} materialized, {counts['failed']} failed, "
        f"{len(statuses) - sum(counts.values())} missing or in progress, of {len(statuses)} tenants"
    )
    if not counts["materialized"]:
        print(f"{day} is not scored: no tenant is materialized (`crm-scoring run --date {day}` scores it)")
        return 1
    return 1 if counts["failed"] else 0


def _rerun_failed(args: argparse.Namespace) -> int:
    load_scoring_config()  # an invalid scoring config is refused before anything starts
    settings, day, engine = _day_command(args)
    _, statuses = _day_statuses(engine, settings, day)
    failed = [status.tenant_id for status in statuses if status.state == "failed"]
    missing = [status.tenant_id for status in statuses if status.state == "missing"]
    if missing and args.include_missing:
        wanted = failed + missing
        print(f"Scoring {len(wanted)} tenant(s): {len(failed)} failed, {len(missing)} never scored")
        return _score_and_report(engine, settings, day, wanted)
    if missing:
        names = operations.tenant_names(engine, settings, missing)
        print(
            f"{len(missing)} tenant(s) never scored on {day}: {', '.join(names[key] for key in missing)}; "
            "`--include-missing` scores them too."
        )
    if not failed:
        print(f"No tenant failed on {day}: nothing to rerun.")
        return 1 if missing else 0
    print(f"Rerunning {len(failed)} failed tenant(s): {', '.join(failed)}")
    rerun = _score_and_report(engine, settings, day, failed)
    return 1 if missing else rerun


def _score_and_report(engine, settings, day, wanted: list[str] | None) -> int:

    configs = load_scoring_config()  # checked before the database too; read again by the run
    with operations.dagster_instance() as instance:
        registered = operations.sync_tenants(instance, engine, settings)
        keys = operations.resolve_tenant_keys(registered, wanted)  # unknown tenants: before anything starts
        print(f"Scoring config: {configs.source} (version {configs.version})")
        if not operations.views_exist(engine, settings):
            _publish_views(instance, settings)
        print(f"Scoring {day} for {len(keys)} tenant(s) through Dagster…")
        log = settings.home / "logs" / f"run-{day}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        outcomes = operations.score_day(instance, day, registered, keys, log)
        statuses = operations.day_status(instance, day, keys)
    print(f"dbt output and error traces: {log}")
    _print_outcomes(outcomes)
    names = operations.tenant_names(engine, settings, keys)
    scored = [names[status.tenant_id] for status in statuses if status.state == "materialized"]
    not_scored = [status for status in statuses if status.state != "materialized"]
    for status in not_scored:
        run = f" (run {status.run_id})" if status.run_id else ""
        print(f"FAILED {names[status.tenant_id]}: {status.error or status.state}{run}")
    if scored:
        # Only what this command materialized: a failed tenant's tables still hold an earlier run.
        _print_summary(day_summary(engine, settings.analytics_schema, day, scored), day)
    print("\nOpen the Dagster UI to see lineage and runs: crm-scoring ui  (http://127.0.0.1:3000)")
    if not_scored:
        print(
            f"error: {len(not_scored)} of {len(statuses)} tenant(s) not scored on {day}: "
            f"{', '.join(names[status.tenant_id] for status in not_scored)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_outcomes(outcomes: list[operations.RunOutcome]) -> None:
    for outcome in outcomes:
        state = "succeeded" if outcome.success else "FAILED"
        tenants = (
            outcome.first_tenant
            if outcome.first_tenant == outcome.last_tenant
            else f"{outcome.first_tenant} … {outcome.last_tenant}"
        )
        if outcome.isolates:
            print(f"  isolation run {outcome.run_id} ({tenants} alone): {state}")
        else:
            print(f"run {outcome.run_id} ({tenants}): {state}")


def _print_summary(summary: dict, day) -> None:
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(f"\nChurn-risk overview, ACTIVE customers, as of end of {day}:")
        print(summary["overview"].to_string(index=False))
        engagement = summary["engagement"].pivot(index="tenant_id", columns="label", values="customer_count")[
            list(summary["engagement"]["label"].drop_duplicates())
        ]
        print("\nEngagement distribution, ACTIVE customers:")
        print(engagement.to_string())
        print(f"\n{summary['alert_count']} churn alert(s); the highest:")
        print(summary["alerts"].to_string(index=False) if len(summary["alerts"]) else "(none)")
        backtest = summary["backtest"]
        if len(backtest):
            print("\nChurn backtest: how the churn scores of that earlier day ranked who churned since:")
            print(backtest.drop(columns="why_undefined").round(3).to_string(index=False))
            for row in backtest.itertuples():
                if isinstance(row.why_undefined, str):
                    print(f"  {row.tenant_id}: {row.why_undefined}")
        _print_not_judged(summary, day)


def _print_not_judged(summary: dict, day) -> None:
    """Tenants the backtest could not judge: it needs their scores of the day a horizon back."""
    judged = set(summary["backtest"]["tenant_id"])
    missing = [tenant for tenant in summary["overview"]["tenant_id"] if tenant not in judged]
    if missing:
        print(
            f"\nNo churn backtest for {', '.join(missing)}: it judges the scores of the day "
            f"{load_settings().churn_horizon_days} days before {day}, and there are none of that "
            "day (not scored, or no ACTIVE customer then): `crm-scoring backfill` scores past days."
        )


def _generate(args: argparse.Namespace) -> int:
    settings, engine = _ready_database()
    counts = _generator(args.data)(
        engine,
        settings.source_schema,
        _size(args),
        end=operations.synthetic_history_end(settings),
        seed=args.seed,
        replace=args.replace,
    )
    print(counts)
    return 0


def _add_data_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="rules",
        choices=DATA_MODES,
        help="rules: churners thin out, fail payments and complain as the churn rules expect; "
        "honest: churn caused by a hidden, drifting satisfaction (docs/synthetic-data.md)",
    )


def _generator(mode: str) -> Callable[..., GeneratedCounts]:
    """The generate function of a --data mode (same signature for both)."""
    if mode == "honest":
        from crm_scoring.devtools import synthetic_honest

        return synthetic_honest.generate
    from crm_scoring.devtools import synthetic

    return synthetic.generate


def _add_size_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenants", type=int, help="override the size's number of tenants")
    parser.add_argument("--customers", type=int, help="override the size's number of customers")
    parser.add_argument("--history-days", type=int, help="override the size's days of history")


def _positive_days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise argparse.ArgumentTypeError(f"at least 1 day, not {days}")
    return days


def _size(args: argparse.Namespace):
    from crm_scoring.devtools import synthetic

    overrides = {
        "tenants": args.tenants,
        "customers": args.customers,
        "history_days": args.history_days,
    }
    return dataclasses.replace(
        synthetic.SIZES[args.size], **{k: v for k, v in overrides.items() if v is not None}
    )


def _bench(args: argparse.Namespace) -> int:
    from crm_scoring.devtools import bench

    settings, engine = _ready_database()
    day = operations.today_in(settings) - timedelta(days=1)
    if not args.reuse_data:
        size = _size(args)
        print(f"Generating {args.size} ({args.data}): {size}")
        started = time.monotonic()
        # History ends when the scored day (yesterday) does: the profiles' rows are then the
        # state of that day, which the baseline (reading today's rows, as the specification
        # does) also sees.
        counts = _generator(args.data)(
            engine,
            settings.source_schema,
            size,
            end=operations.synthetic_history_end(settings),
            seed=args.seed,
            replace=True,
        )
        print(f"{counts} in {time.monotonic() - started:.0f} s")
    if args.model:
        from crm_scoring.devtools import bench_model

        print(bench_model.report(bench_model.benchmark_model(args.size, day, settings.home), args.json))
        return 0
    result = bench.benchmark(
        engine,
        settings,
        args.size,
        day,
        settings.home,
        args.sample,
        args.seed,
        args.backfill_days,
        args.scored_days,
    )
    print(bench.report(result, args.json))
    return 0 if result.baseline_scores_match_graph else 1


def _create_token(args: argparse.Namespace) -> int:
    from crm_scoring.warehouse.api_tokens import create_token
    from crm_scoring.warehouse.tenants import distinct_tenant_ids

    settings, engine = _ready_database()
    if args.tenant not in distinct_tenant_ids(engine, settings.source_schema):
        raise operations.UsageError(f"Unknown tenant {args.tenant!r}: it has no customer profiles.")
    print(create_token(engine, settings.analytics_schema, args.tenant))
    print("Keep it: only its hash is stored.", file=sys.stderr)
    return 0


def _list_tokens(args: argparse.Namespace) -> int:
    from crm_scoring.warehouse.api_tokens import list_tokens

    settings, engine = _ready_database()
    tokens = list_tokens(engine, settings.analytics_schema)
    print(f"{'id':<14}{'tenant':<24}{'created':<27}revoked")
    for token in tokens:
        revoked = f"{token.revoked_at:%Y-%m-%d %H:%M:%S%z}" if token.revoked_at else ""
        print(f"{token.token_id:<14}{token.tenant_id:<24}{token.created_at:%Y-%m-%d %H:%M:%S%z}    {revoked}")
    return 0


def _revoke_tokens(args: argparse.Namespace) -> int:
    from crm_scoring.warehouse.api_tokens import ID_LENGTH, revoke_tokens

    if args.token_id is not None and len(args.token_id) != ID_LENGTH:
        raise operations.UsageError(f"--id takes the {ID_LENGTH}-character id `api-token list` shows")
    settings, engine = _ready_database()
    revoked = revoke_tokens(engine, settings.analytics_schema, token_id=args.token_id, tenant_id=args.tenant)
    if not revoked:
        raise operations.UsageError(
            "no valid token matches: nothing revoked (see `crm-scoring api-token list`)"
        )
    print(f"revoked {revoked} token(s); the API refuses them from its next request")
    return 0


def _deliver_alerts(args: argparse.Namespace) -> int:
    from crm_scoring.delivery.outbox_sender import deliver_pending
    from crm_scoring.settings import WEBHOOK_ENV

    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        raise operations.UsageError(f"{WEBHOOK_ENV} is not set: there is nowhere to deliver to")
    settings, engine = _ready_database()
    report = deliver_pending(engine, settings.analytics_schema, url)
    print(f"delivered {report.delivered}, failed {report.failed} (failed ones back off and are retried)")
    return 1 if report.failed else 0


def _grant_reader(args: argparse.Namespace) -> int:
    import secrets

    import psycopg2
    from psycopg2.errorcodes import INSUFFICIENT_PRIVILEGE
    from sqlalchemy.exc import DBAPIError

    from crm_scoring.warehouse.access import grant_reader

    settings, engine = _ready_database()
    password = secrets.token_urlsafe(24)
    try:
        role = grant_reader(engine, settings.analytics_schema, args.tenant, password)
    except (DBAPIError, psycopg2.Error) as exc:
        # grant_reader runs statements both through SQLAlchemy (wrapped) and psycopg2 (bare)
        error = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(error, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
            raise
        reason = str(error).strip().splitlines()[0]
        raise operations.UsageError(
            "grant-reader needs a PostgreSQL account with CREATEROLE that owns the analytics tables: "
            + reason
        ) from None
    print(f"role: {role}\npassword: {password}")
    print("Keep the password: it is not stored in clear anywhere.", file=sys.stderr)
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from crm_scoring.app.api import create_app

    settings, engine = _ready_database()
    print(f"Analytics API on http://127.0.0.1:{args.port} (OpenAPI at /openapi.json)")
    uvicorn.run(create_app(engine, settings.analytics_schema), host="127.0.0.1", port=args.port)
    return 0


def _preview(args: argparse.Namespace) -> int:
    from crm_scoring.app import preview

    settings = load_settings()
    day = preview.parse_date(args.date) if args.date else None
    # Both configs are validated before the database is touched.
    current, proposed = load_scoring_config(), load_scoring_config(args.config)
    engine = warehouse_engine(configure_environment())
    report = preview.preview_tenant(engine, settings, args.tenant, day, current, proposed)
    print(preview.render(report))
    return 0


def _init_db(args: argparse.Namespace) -> int:

    settings = load_settings()
    url = configure_environment()
    before, head = operations.init_db(warehouse_engine(url), settings)
    migrated = (
        f"already at revision {head}" if before == head else f"migrated from {before or 'nothing'} to {head}"
    )
    print(
        f"Source tables in schema {settings.source_schema!r} and analytics tables in "
        f"{settings.analytics_schema!r} ({migrated}) are ready at {describe(url)}."
    )
    with operations.dagster_instance() as instance:
        return 0 if _publish_views(instance, settings) else 1


def _train_model(args: argparse.Namespace) -> int:
    import dagster as dg

    settings = load_settings()
    observed_until = (
        operations.parse_day(args.observed_until, settings, operations.today_in(settings), "--observed-until")
        if args.observed_until
        else None
    )
    _ready_database()
    log = settings.home / "logs" / "churn-model.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with operations.dagster_instance() as instance:
        run_id, success = operations.train_churn_model(instance, observed_until, log)
        if not success:
            print(
                f"error: training the churn model failed (run {run_id}); see the run in the UI",
                file=sys.stderr,
            )
            return 1
        event = instance.get_latest_materialization_event(dg.AssetKey("churn_model"))
        metadata = event.asset_materialization.metadata
    print(
        f"Churn model trained (run {run_id}), labelled days {metadata['labelled_days'].value}, "
        f"population {metadata['population'].value}:"
    )
    print(metadata["tenants"].value)
    print()
    print(metadata["figures"].value)
    print("\nHow to read these figures: docs/churn-model.md")
    return 0


def _publish_views(instance, settings: Settings) -> bool:
    log = settings.home / "logs" / "publish-views.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    run_id, success = operations.publish_views(instance, log)
    if success:
        print(
            f"Views published: staging in {settings.staging_schema!r}, BI in {settings.bi_schema!r} "
            f"(run {run_id})."
        )
    else:
        print(f"error: publishing the views failed (run {run_id}); dbt output in {log}", file=sys.stderr)
    return success


def _docs(args: argparse.Namespace) -> int:
    from crm_scoring.app.docs import build_docs, serve_docs

    settings, engine = _ready_database()
    url = engine.url.render_as_string(hide_password=False)
    target = settings.home / "dbt-docs"
    print(f"dbt docs: {build_docs(url, target)}")
    return serve_docs(url, target, args.port) if args.serve else 0


def _ui(args: argparse.Namespace) -> int:
    configure_environment()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster if dagster.exists() else "dagster"), "dev", "-w", "workspace.yaml"]
    command += ["-h", "127.0.0.1", "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C stops it)")
    return subprocess.call(command, cwd=PROJECT_ROOT)


if __name__ == "__main__":
    sys.exit(main())
