"""crm-scoring bench: the graph against the specification's per-profile pattern and the scan
limit, on the same data and the same as_of, in one run.

- graph: the daily run through Dagster for every tenant, in a child process (wall, peak RSS),
  of a day whose day before is already scored, as every daily run but a deployment's first is;
- first run: that day before, the deployment's first run, timed apart: it also pays what a
  deployment pays once (dbt's parse for this database, the views);
- baseline: the specification's BatchScoringJob on a random sample of profiles: pages of 100
  profiles, each scored with its four queries and one UPDATE, 100 at a time over a pool of 5
  connections (Prisma's default for 2 cores), then extrapolated to every profile;
- limit: one aggregate pass over the windowed events, grouped by customer: what any correct
  design must read at least;
- limit_with_writes: the same pass written to a table, plus a COPY of the day's score rows into
  a fresh table: what any correct design must at least read AND write;
- backfill (with --backfill-days N): the N days before the scored one through `crm-scoring
  backfill`, in seconds per day, beside the single-day run's seconds (what a day costs when
  days are run one by one) and the goal (a year of the demo's data in 5 minutes).
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from queue import Queue

import pandas as pd
import psycopg2
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from crm_scoring.rules.scorecard import score_features
from crm_scoring.scope import DayScope, as_of_instant
from crm_scoring.settings import DEFAULT_SCORING_CONFIG, SCORING_CONFIG_ENV, Settings

BATCH = 100  # the specification's page size, all scored concurrently
POOL = 5  # Prisma's default connection_limit: num_cpus * 2 + 1 on 2 cores


@dataclass
class BenchResult:
    size: str
    as_of_date: str
    customers_scored: int
    graph_seconds: float
    graph_peak_rss_mib: float
    graph_steps_seconds: dict
    first_run_seconds: float
    first_run_steps_seconds: dict
    baseline_sample: int
    baseline_sample_seconds: float
    baseline_profiles_per_second: float
    baseline_extrapolated_seconds: float
    limit_seconds: float
    graph_over_limit: float
    limit_with_writes_seconds: float
    graph_over_limit_with_writes: float
    baseline_over_graph: float
    baseline_scores_match_graph: bool
    scored_days: int
    scored_days_before: int
    graph_is_rerun: bool
    backfill_days: int = 0
    backfill_seconds: float | None = None
    backfill_seconds_per_day: float | None = None


# The goal for backfills: 365 days of the demo's 4 tenants in 5 minutes.
BACKFILL_GOAL_SECONDS_PER_DAY = round(300 / 365, 2)


def run_graph(day: date, home: Path) -> tuple[float, float, str]:
    """The daily run for every tenant, as `crm-scoring run` does it, in a child process."""
    return run_cli(["run", "--date", day.isoformat()], home)


def run_first(day: date, scored_days: int, home: Path) -> float:
    """The deployment's first run, before the timed daily run of ``day``: the day before, or a
    backfill of the ``scored_days`` days before (a history kept, for how the daily run's cost
    grows with it)."""
    if scored_days == 1:
        return run_graph(day - timedelta(days=1), home)[0]
    return run_backfill(day, scored_days, home)


def run_backfill(day: date, days: int, home: Path) -> float:
    """`crm-scoring backfill` of the ``days`` days before ``day``, every tenant, from scratch."""
    first, last = day - timedelta(days=days), day - timedelta(days=1)
    command = ["backfill", "--from", first.isoformat(), "--to", last.isoformat(), "--force"]
    return run_cli(command, home)[0]


# Starts the command and prints its peak RSS (KiB; the largest of it and its descendants) last
# on stderr. Measured from this small process because a child started straight from the
# benchmark's inherits the benchmark's own high-water mark as its ru_maxrss (Linux keeps the
# larger of the two at exec): after generating `large` that is ~3 GiB, whatever the graph uses.
_PEAK_RSS_PROBE = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def run_cli(arguments: list[str], home: Path) -> tuple[float, float, str]:
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_PROBE, sys.executable, "-m", "crm_scoring.app.cli", *arguments],
        # The baseline is the specification, so the graph scores with the packaged spec config.
        env={**os.environ, "CRM_SCORING_HOME": str(home), SCORING_CONFIG_ENV: str(DEFAULT_SCORING_CONFIG)},
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(
            f"crm-scoring {arguments[0]} failed:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
        )
    peak_kib = int(process.stderr.rstrip().rsplit("\n", 1)[-1])
    return seconds, peak_kib / 1024, process.stdout


def run_limit(engine: Engine, settings: Settings, scope: DayScope) -> float:
    """One grouped pass over the events each window needs; no joins, no writes."""
    started = time.monotonic()
    with engine.connect() as connection:
        for query in _limit_queries(settings):
            connection.execute(text(f"select count(*) from ({query}) as pass"), _windows(scope)).scalar_one()
    return time.monotonic() - started


def run_limit_with_writes(engine: Engine, settings: Settings, scope: DayScope) -> float:
    """The limit's pass written to tables, plus the day's score rows COPYed out and into a new
    table: the least any design that persists features and scores must do. Logged tables, as
    the graph's are; dropped again afterwards."""
    out = settings.analytics_schema
    passes = [f"{out}.bench_limit_pass_{index}" for index in range(len(_limit_queries(settings)))]
    scores = f"{out}.bench_limit_scores"
    dsn = make_url(str(engine.url)).set(drivername="postgresql").render_as_string(hide_password=False)
    _drop_tables(engine, [*passes, scores])
    with engine.begin() as connection:
        connection.execute(text(f"create table {scores} (like {out}.customer_scores)"))
    started = time.monotonic()
    with engine.begin() as connection:
        for table, query in zip(passes, _limit_queries(settings), strict=True):
            connection.execute(text(f"create table {table} as {query}"), _windows(scope))
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        rows = io.StringIO()
        day = cursor.mogrify("%s", (scope.as_of_date,)).decode()
        cursor.copy_expert(
            f"copy (select * from {out}.customer_scores where as_of_date = {day}) to stdout", rows
        )
        rows.seek(0)
        cursor.copy_expert(f"copy {scores} from stdin", rows)
    seconds = time.monotonic() - started
    _drop_tables(engine, [*passes, scores])
    return seconds


def _drop_tables(engine: Engine, tables: Sequence[str]) -> None:
    with engine.begin() as connection:
        for table in tables:
            connection.execute(text(f"drop table if exists {table}"))


def _windows(scope: DayScope) -> dict:
    return {"as_of": scope.as_of, **{f"since_{d}d": scope.since(d) for d in (30, 90, 180)}}


def _limit_queries(settings: Settings) -> list[str]:
    src = settings.source_schema
    return [
        f"""select customer_id, count(*) filter (where occurred_at >= :since_30d) as n30,
            count(*) filter (where occurred_at >= :since_90d) as n90, max(occurred_at) as last_at
            from {src}.activities where occurred_at >= :since_180d and occurred_at < :as_of
            group by customer_id""",
        f"""select customer_id, count(*) filter (where type = 'SENT') as sent,
            count(*) filter (where type = 'OPENED') as opened,
            count(*) filter (where type = 'CLICKED') as clicked
            from {src}.campaign_interactions where occurred_at >= :since_30d and occurred_at < :as_of
            group by customer_id""",
        f"""select customer_id, count(*) as complaints from {src}.customer_notes
            where type = 'COMPLAINT' and created_at >= :since_90d and created_at < :as_of
            group by customer_id""",
    ]


def run_baseline(
    engine: Engine, settings: Settings, scope: DayScope, sample: Sequence[str]
) -> tuple[float, pd.DataFrame]:
    """The specification's per-profile pattern on ``sample``; returns (seconds, scores)."""
    src, out = settings.source_schema, settings.analytics_schema
    dsn = make_url(str(engine.url)).set(drivername="postgresql").render_as_string(hide_password=False)
    with engine.begin() as connection:
        connection.execute(text(f"drop table if exists {out}.bench_profile_scores"))
        connection.execute(
            text(
                f"create table {out}.bench_profile_scores (id text primary key, engagement_score int, "
                "engagement_score_at timestamptz, churn_risk_score int, churn_risk_score_at timestamptz)"
            )
        )
        connection.execute(
            text(f"insert into {out}.bench_profile_scores (id) select unnest(cast(:ids as text[]))"),
            {"ids": list(sample)},
        )
    pool: Queue = Queue()
    for _ in range(POOL):
        pool.put(psycopg2.connect(dsn))
    window = {"as_of": scope.as_of, **{f"d{d}": scope.since(d) for d in (30, 90, 180)}}
    scored = []
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=BATCH) as executor:
            for first in range(0, len(sample), BATCH):
                page = _profile_page(pool, settings, scope, sample[first : first + BATCH])
                features = list(executor.map(lambda p: _profile_features(pool, src, window, p), page))
                frame = pd.DataFrame(features)
                scores = pd.concat([frame[["customer_id"]], score_features(frame, scope.as_of)], axis=1)
                list(executor.map(lambda row: _update(pool, out, row), scores.itertuples()))
                scored.append(scores)
    finally:
        while not pool.empty():
            pool.get().close()
    return time.monotonic() - started, pd.concat(scored, ignore_index=True)


@contextmanager
def _pooled(pool: Queue) -> Iterator:
    """A connection from the pool, as Prisma's pool hands one to each query."""
    connection = pool.get()
    try:
        yield connection
    finally:
        pool.put(connection)


def _profile_page(pool: Queue, settings: Settings, scope: DayScope, ids: Sequence[str]) -> list[dict]:
    """``findMany`` of a page of profiles. The specification reads lastActivityAt and the
    activity counters from denormalised profile columns; here they come from the day's
    customer_features, so the baseline pays nothing for them."""
    with _pooled(pool) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"select p.id as customer_id, p.lifetime_value, p.email_opt_in, p.sms_opt_in, "
            f"p.push_opt_in, p.whatsapp_opt_in, p.last_email_open_at, f.last_activity_at, "
            f"f.activity_count_30d, f.activity_count_90d "
            f"from {settings.source_schema}.customer_profiles p "
            f"join {settings.analytics_schema}.customer_features f "
            f"on f.customer_id = p.id and f.as_of_date = %s where p.id = any(%s) order by p.id",
            (scope.as_of_date, list(ids)),
        )
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _profile_features(pool: Queue, src: str, window: dict, profile: dict) -> dict:
    """The specification's four per-profile queries (depth, payments, tier change, complaints)."""
    params = {**window, "id": profile["customer_id"]}
    with _pooled(pool) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"select type from {src}.campaign_interactions where customer_id = %(id)s "
            "and occurred_at >= %(d30)s and occurred_at < %(as_of)s",
            params,
        )
        kinds = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"select type from {src}.activities where customer_id = %(id)s and type in "
            "('PAYMENT_FAILED', 'PAYMENT_RECEIVED') and occurred_at >= %(d90)s "
            "and occurred_at < %(as_of)s order by occurred_at desc",
            params,
        )
        payments = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"select metadata from {src}.activities where customer_id = %(id)s "
            "and type = 'TIER_CHANGED' and occurred_at >= %(d180)s and occurred_at < %(as_of)s "
            "order by occurred_at desc, id desc limit 1",
            params,
        )
        tier = cursor.fetchone()
        cursor.execute(
            f"select count(*) from {src}.customer_notes where customer_id = %(id)s "
            "and type = 'COMPLAINT' and created_at >= %(d90)s and created_at < %(as_of)s",
            params,
        )
        complaints = cursor.fetchone()[0]
    metadata = tier[0] if tier else None
    reason = metadata.get("reason") if isinstance(metadata, dict) else None
    return {
        **profile,
        "campaign_sent_30d": kinds.count("SENT"),
        "campaign_opened_30d": kinds.count("OPENED"),
        "campaign_clicked_30d": kinds.count("CLICKED"),
        "payment_failed_90d": payments.count("PAYMENT_FAILED"),
        "payment_received_90d": payments.count("PAYMENT_RECEIVED"),
        "latest_tier_change_reason": reason if isinstance(reason, str) else None,
        "complaints_90d": complaints,
    }


def _update(pool: Queue, out: str, row) -> None:
    with _pooled(pool) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                f"update {out}.bench_profile_scores set engagement_score = %s, engagement_score_at = now(), "
                "churn_risk_score = %s, churn_risk_score_at = now() where id = %s",
                (int(row.engagement_score), int(row.churn_risk_score), row.customer_id),
            )
        connection.commit()


def sample_profiles(engine: Engine, settings: Settings, day: date, count: int, seed: int) -> list[str]:
    with engine.connect() as connection:
        ids = (
            connection.execute(
                text(
                    f"select customer_id from {settings.analytics_schema}.customer_scores "
                    "where as_of_date = :d"
                ),
                {"d": day},
            )
            .scalars()
            .all()
        )
    return sorted(random.Random(seed).sample(list(ids), min(count, len(ids))))


def graph_scores(engine: Engine, settings: Settings, day: date, ids: Sequence[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(
                f"select customer_id, engagement_score, churn_risk_score from {settings.analytics_schema}"
                ".customer_scores where as_of_date = :d and customer_id = any(:ids) order by customer_id"
            ),
            connection,
            params={"d": day, "ids": list(ids)},
        )


def benchmark(
    engine: Engine,
    settings: Settings,
    size: str,
    day: date,
    home: Path,
    sample: int,
    seed: int,
    backfill_days: int = 0,
    scored_days: int = 1,
) -> BenchResult:
    first_run_seconds = run_first(day, scored_days, home)
    first_run_steps = latest_run_steps()
    graph_is_rerun = _has_scores(engine, settings, day)
    seconds, peak_mib, _ = run_graph(day, home)
    steps = latest_run_steps()
    scope = DayScope(day, (), as_of_instant(day, settings.tz))
    with engine.connect() as connection:
        customers, scored_days_before = connection.execute(
            text(
                "select count(*) filter (where as_of_date = :d), "
                "count(distinct as_of_date) filter (where as_of_date < :d) "
                f"from {settings.analytics_schema}.customer_scores"
            ),
            {"d": day},
        ).one()
    limit_seconds = run_limit(engine, settings, scope)
    limit_with_writes_seconds = run_limit_with_writes(engine, settings, scope)
    ids = sample_profiles(engine, settings, day, sample, seed)
    baseline_seconds, baseline = run_baseline(engine, settings, scope, ids)
    expected = graph_scores(engine, settings, day, ids)
    got = baseline.sort_values("customer_id", ignore_index=True)[list(expected.columns)]
    matches = len(got) == len(expected) and bool(
        (got.astype(str).to_numpy() == expected.astype(str).to_numpy()).all()
    )
    rate = len(ids) / baseline_seconds
    extrapolated = customers / rate
    return BenchResult(
        size=size,
        as_of_date=day.isoformat(),
        customers_scored=int(customers),
        graph_seconds=round(seconds, 2),
        graph_peak_rss_mib=round(peak_mib, 1),
        graph_steps_seconds=steps,
        first_run_seconds=round(first_run_seconds, 2),
        first_run_steps_seconds=first_run_steps,
        baseline_sample=len(ids),
        baseline_sample_seconds=round(baseline_seconds, 2),
        baseline_profiles_per_second=round(rate, 1),
        baseline_extrapolated_seconds=round(extrapolated, 1),
        limit_seconds=round(limit_seconds, 2),
        graph_over_limit=round(seconds / limit_seconds, 2),
        limit_with_writes_seconds=round(limit_with_writes_seconds, 2),
        graph_over_limit_with_writes=round(seconds / limit_with_writes_seconds, 2),
        baseline_over_graph=round(extrapolated / seconds, 1),
        baseline_scores_match_graph=matches,
        scored_days=scored_days,
        scored_days_before=int(scored_days_before),
        graph_is_rerun=graph_is_rerun,
        **_backfill_figures(day, backfill_days, home),
    )


def _has_scores(engine: Engine, settings: Settings, day: date) -> bool:
    """Whether ``day`` was scored before (``--reuse-data`` on a home benchmarked before): its
    run is then a rerun, which rewrites only what changed, not a daily run."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                f"select exists (select from {settings.analytics_schema}.customer_scores "
                "where as_of_date = :d)"
            ),
            {"d": day},
        ).scalar_one()


def _backfill_figures(day: date, days: int, home: Path) -> dict:
    if not days:
        return {}
    seconds = run_backfill(day, days, home)
    return {
        "backfill_days": days,
        "backfill_seconds": round(seconds, 1),
        "backfill_seconds_per_day": round(seconds / days, 2),
    }


def latest_run_steps() -> dict[str, float]:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
        return {
            record.event_log_entry.step_key: round(
                record.event_log_entry.dagster_event.event_specific_data.duration_ms / 1000, 2
            )
            for record in records
        }


def report(result: BenchResult, json_path: Path | None) -> str:
    lines = [
        f"crm-scoring bench --size {result.size}: {result.customers_scored:,} customers scored "
        f"as of the end of {result.as_of_date}",
        "",
        f"{'':34}{'seconds':>12}{'customers/s':>14}{'peak RSS MiB':>14}",
        f"{_graph_label(result.graph_is_rerun):34}{result.graph_seconds:>12.2f}"
        f"{result.customers_scored / result.graph_seconds:>14,.0f}{result.graph_peak_rss_mib:>14.0f}",
        f"{'baseline, EXTRAPOLATED from ' + str(result.baseline_sample):34}"
        f"{result.baseline_extrapolated_seconds:>12.1f}{result.baseline_profiles_per_second:>14,.1f}",
        f"{'  (measured on the sample)':34}{result.baseline_sample_seconds:>12.2f}",
        f"{_first_run_label(result.scored_days):34}{result.first_run_seconds:>12.2f}",
        f"{'limit (one aggregate SQL pass)':34}{result.limit_seconds:>12.2f}",
        f"{'limit_with_writes (+ tables, COPY)':34}{result.limit_with_writes_seconds:>12.2f}",
        "",
        f"graph / limit    = {result.graph_over_limit:.2f}x",
        f"graph / limit_with_writes = {result.graph_over_limit_with_writes:.2f}x",
        f"baseline / graph = {result.baseline_over_graph:.1f}x",
        f"baseline scores equal the graph's for all {result.baseline_sample} sampled profiles: "
        f"{result.baseline_scores_match_graph}",
        "graph steps (s): " + _steps(result.graph_steps_seconds, result.graph_seconds),
        "first run's steps (s): " + _steps(result.first_run_steps_seconds, result.first_run_seconds),
        f"days with scores before {result.as_of_date}: {result.scored_days_before}",
    ]
    if result.backfill_days:
        lines += [
            "",
            f"backfill of {result.backfill_days} days, every tenant: {result.backfill_seconds:.1f} s = "
            f"{result.backfill_seconds_per_day:.2f} s per day",
            f"  baseline, one run per day (the run above): {result.graph_seconds:.2f} s per day",
            f"  goal (a year of the demo in 5 minutes): {BACKFILL_GOAL_SECONDS_PER_DAY:.2f} s per day",
        ]
    return finish_report(lines, result, json_path)


def _graph_label(is_rerun: bool) -> str:
    return "graph, a RERUN of a scored day" if is_rerun else "graph (Dagster, all tenants)"


def _first_run_label(scored_days: int) -> str:
    return "first run (the day before)" if scored_days == 1 else f"first run ({scored_days} days backfilled)"


def _steps(steps: dict[str, float], wall_seconds: float) -> str:
    outside = wall_seconds - sum(steps.values())
    return ", ".join(f"{key} {value}" for key, value in steps.items()) + f"; outside the steps {outside:.1f}"


def finish_report(lines: list[str], result, json_path: Path | None) -> str:
    """The report's text; the figures also go to ``json_path`` (a dataclass as JSON) when given."""
    if json_path:
        json_path.write_text(json.dumps(asdict(result), indent=2))
        lines.append(f"figures written to {json_path}")
    return "\n".join(lines)
