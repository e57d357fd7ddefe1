"""What the CLI does, as functions: register tenants, score a day through Dagster, read results.

Runs go through the Dagster instance (recorded, visible in the UI), never around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
from sqlalchemy import Engine, create_engine, text

from crm_scoring.scope import tenant_partition_key
from crm_scoring.settings import Settings
from crm_scoring.warehouse import migrations
from crm_scoring.warehouse.schema import apply_ddl, relation_exists, source_ddl
from crm_scoring.warehouse.tenants import distinct_tenant_ids, record_tenant_keys, tenants_for_keys
from crm_scoring.warehouse.urls import sqlalchemy_url

# The full event log lives in the instance (UI); the terminal only needs warnings and errors.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class UsageError(Exception):
    """A request the operator can correct: bad date, unknown tenant, and the like."""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    first_tenant: str
    last_tenant: str
    success: bool


def warehouse_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True)


def init_db(engine: Engine, settings: Settings) -> tuple[str | None, str]:
    """Creates the source contract's missing tables and indexes, and migrates the analytics
    schema to the code's head revision; returns (the revision it was at, head). The only place
    the analytics schema changes: runs refuse a schema that is not at head."""
    apply_ddl(engine, source_ddl(settings.source_schema))
    return migrations.upgrade(engine, settings.analytics_schema)


def parse_day(value: str, settings: Settings, today: date, option: str = "--date") -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date in YYYY-MM-DD form") from None
    first = date.fromisoformat(settings.partitions_start)
    if day < first:
        raise UsageError(
            f"{option} {day} is before the first partition {first} (CRM_SCORING_PARTITIONS_START)"
        )
    if day >= today:
        raise UsageError(
            f"{option} {day} is not a complete day yet in {settings.timezone}; "
            f"the latest scorable day is {date.fromordinal(today.toordinal() - 1)}"
        )
    return day


def sync_tenants(instance: dg.DagsterInstance, engine: Engine, settings: Settings) -> list[str]:
    """Registers tenants found in customer_profiles, as the sensor does; returns the registry
    (partition keys, in registration order)."""
    from crm_scoring.defs.partitions import tenant_partitions
    from crm_scoring.scope import split_new_tenants

    known = instance.get_dynamic_partitions(tenant_partitions.name)
    new, blank = split_new_tenants(distinct_tenant_ids(engine, settings.source_schema), known)
    if blank:
        print(f"warning: {len(blank)} blank tenant id(s) in customer_profiles are not scored")
    if new:
        record_tenant_keys(engine, settings.analytics_schema, new)
        instance.add_dynamic_partitions(tenant_partitions.name, list(new))
    return list(instance.get_dynamic_partitions(tenant_partitions.name))


def tenant_names(engine: Engine, settings: Settings, keys: Sequence[str]) -> dict[str, str]:
    """{partition key: tenant id} for display and for SQL (bound parameters)."""
    return tenants_for_keys(engine, settings.analytics_schema, keys)


def resolve_tenant_keys(registered: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    """Partition keys of the tenants named by id or by key; every registered one for None."""
    if not registered:
        raise UsageError("No tenant has customer profiles yet: load data or run `crm-scoring generate`.")
    if wanted is None:
        return list(registered)
    keys = [name if name in registered else tenant_partition_key(name) for name in wanted]
    unknown = sorted(name for name, key in zip(wanted, keys, strict=True) if key not in registered)
    if unknown:
        raise UsageError(
            f"Unknown tenant(s): {', '.join(unknown)}. Known: {', '.join(registered[:20])}"
            + (" …" if len(registered) > 20 else "")
        )
    return keys


def score_day(
    instance: dg.DagsterInstance,
    day: date,
    registered: Sequence[str],
    wanted: Sequence[str] | None,
    output_log: Path,
) -> list[RunOutcome]:
    """Materializes the day for the wanted tenants (all when None): one run per contiguous stretch."""
    from crm_scoring.defs.jobs import contiguous_runs, partition_range_run_tags

    outcomes = []
    for first, last in contiguous_runs(registered, resolve_tenant_keys(registered, wanted)):
        tags = partition_range_run_tags("cli", day, day, first, last)
        run_id, success = execute_scoring_run(instance, tags, output_log)
        outcomes.append(RunOutcome(run_id, first, last, success))
    return outcomes


@dataclass(frozen=True)
class BackfillRun:
    """One run of a backfill: consecutive days x a contiguous stretch of the tenant registry."""

    first_day: date
    last_day: date
    first_tenant: str
    last_tenant: str

    def tags(self) -> dict[str, str]:
        from crm_scoring.defs.jobs import partition_range_run_tags

        return partition_range_run_tags(
            "backfill", self.first_day, self.last_day, self.first_tenant, self.last_tenant
        )


def backfill_runs(
    pending: Mapping[date, Sequence[str]], registered: Sequence[str], days_per_run: int
) -> list[BackfillRun]:
    """The runs that materialize every pending (day, tenants) of a range of days: the days in
    chunks of at most ``days_per_run``; within a chunk, consecutive days whose pending tenants
    form the same stretches of the registry share one run per stretch (usually: one run per
    chunk, every tenant)."""
    from crm_scoring.defs.jobs import contiguous_runs

    days = sorted(pending)
    runs: list[BackfillRun] = []
    for start in range(0, len(days), days_per_run):
        spans: list[tuple[date, date, list[tuple[str, str]]]] = []
        for day in days[start : start + days_per_run]:
            stretches = contiguous_runs(registered, pending[day])
            if not stretches:
                continue
            if spans and spans[-1][2] == stretches and spans[-1][1] == day - timedelta(days=1):
                spans[-1] = (spans[-1][0], day, stretches)
            else:
                spans.append((day, day, stretches))
        runs += [
            BackfillRun(first, last, *stretch) for first, last, stretches in spans for stretch in stretches
        ]
    return runs


def pending_partitions(
    instance: dg.DagsterInstance, days: Sequence[date], tenants: Sequence[str], force: bool
) -> dict[date, list[str]]:
    """{day: tenants (partition keys) to materialize}: all of them with ``force``, else those
    not yet materialized for every asset of the scoring job (failed, missing, partial)."""
    from crm_scoring.defs.partitions import scoring_key

    keys = {(day, tenant): str(scoring_key(day.isoformat(), tenant)) for day in days for tenant in tenants}
    states = {} if force else partition_states(instance, list(keys.values()))
    return {
        day: [tenant for tenant in tenants if states.get(keys[day, tenant]) != "materialized"] for day in days
    }


def execute_scoring_run(
    instance: dg.DagsterInstance, tags: dict[str, str], output_log: Path
) -> tuple[str, bool]:
    """Runs the scoring job in this process, recorded in the instance like any other run."""
    from crm_scoring.definitions import resolved_scoring_job

    return _execute(resolved_scoring_job, instance, tags, output_log)


def publish_views(instance: dg.DagsterInstance, output_log: Path) -> tuple[str, bool]:
    """Builds the staging views and the contracted BI views through Dagster (a contract
    violation fails the run)."""
    from crm_scoring.definitions import resolved_publish_job

    return _execute(resolved_publish_job, instance, {"crm_scoring/trigger": "cli"}, output_log)


def views_exist(engine: Engine, settings: Settings) -> bool:
    return relation_exists(engine, f"{settings.bi_schema}.customer_scores_latest") and relation_exists(
        engine, f"{settings.staging_schema}.stg_crm__activities"
    )


def train_churn_model(
    instance: dg.DagsterInstance, observed_until: date | None, output_log: Path
) -> tuple[str, bool]:
    """Trains the churn model now (the weekly schedule's job), as of the end of
    ``observed_until`` (default yesterday), recorded in the instance like any other run."""
    from crm_scoring.definitions import resolved_churn_model_job

    config = {"observed_until": observed_until.isoformat() if observed_until else None}
    return _execute(
        resolved_churn_model_job,
        instance,
        {"crm_scoring/trigger": "cli"},
        output_log,
        ops={"churn_model": {"config": config}},
    )


def _execute(
    job: Callable[[], dg.JobDefinition],
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    output_log: Path,
    ops: dict | None = None,
) -> tuple[str, bool]:
    # dbt's progress lines go to the log file; the UI keeps them per step as well.
    with output_log.open("a") as log, contextlib.redirect_stdout(log):
        result = dg.execute_job(
            dg.reconstructable(job),
            instance=instance,
            tags=tags,
            run_config={**_QUIET_CONSOLE, **({"ops": ops} if ops else {})},
            raise_on_error=False,
        )
    return result.run_id, result.success


def day_summary(engine: Engine, settings: Settings, day: date, tenants: Sequence[str]) -> dict:
    schema = settings.analytics_schema
    params = {"day": day, "tenants": list(tenants)}
    with engine.connect() as connection:
        overview = pd.read_sql_query(
            text(
                f"select tenant_id, critical, high, medium, low, total from {schema}.churn_risk_overview "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id"
            ),
            connection,
            params=params,
        )
        engagement = pd.read_sql_query(
            text(
                f"select tenant_id, label, customer_count from {schema}.engagement_distribution "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id, bucket_order"
            ),
            connection,
            params=params,
        )
        alerts = pd.read_sql_query(
            text(
                f"select tenant_id, customer_id, churn_risk_score, engagement_score "
                f"from {schema}.churn_alerts where as_of_date = :day and tenant_id = any(:tenants) "
                "order by churn_risk_score desc, tenant_id, customer_id limit 10"
            ),
            connection,
            params=params,
        )
        alert_count = connection.execute(
            text(
                f"select count(*) from {schema}.churn_alerts "
                "where as_of_date = :day and tenant_id = any(:tenants)"
            ),
            params,
        ).scalar_one()
        backtest = pd.read_sql_query(
            text(
                "select tenant_id, evaluated_as_of_date as scores_of, customers, churned, churn_rate, auc, "
                "alerted, precision_at_threshold as precision, recall_at_threshold as recall, "
                f"top_decile_lift, why_undefined from {schema}.churn_backtest "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id"
            ),
            connection,
            params=params,
        )
    return {
        "overview": overview,
        "engagement": engagement,
        "alerts": alerts,
        "alert_count": alert_count,
        "backtest": backtest,
    }


def today_in(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


@dataclass(frozen=True)
class TenantStatus:
    tenant_id: str
    state: str  # materialized | failed | in progress | missing
    run_id: str | None
    error: str | None


def partition_states(instance: dg.DagsterInstance, partition_keys: Sequence[str]) -> dict[str, str]:
    """{partition key: materialized | missing | in progress | failed}: the worst state over the
    scoring job's assets, one instance query per asset for all the keys."""
    from crm_scoring.defs.jobs import scoring_job_asset_keys
    from crm_scoring.defs.partitions import scoring_partitions

    worst: dict[str, str] = dict.fromkeys(partition_keys, "materialized")
    rank = {"materialized": 0, "missing": 1, "in progress": 2, "failed": 3}
    names = {"MATERIALIZED": "materialized", "FAILED": "failed", "IN_PROGRESS": "in progress"}
    for asset_key in scoring_job_asset_keys():
        statuses = instance.get_status_by_partition(asset_key, list(partition_keys), scoring_partitions) or {}
        for key in partition_keys:
            status = statuses.get(key)
            state = names[status.value] if status else "missing"
            if rank[state] > rank[worst[key]]:
                worst[key] = state
    return worst


def day_status(instance: dg.DagsterInstance, day: date, tenants: Sequence[str]) -> list[TenantStatus]:
    """Each tenant's state for the day, from the Dagster instance: the worst state over the
    partition's assets, and for a failure the run and the error that caused it."""
    from crm_scoring.defs.partitions import scoring_key

    keys = {tenant: str(scoring_key(day.isoformat(), tenant)) for tenant in tenants}
    states = partition_states(instance, list(keys.values()))
    worst = {tenant: states[key] for tenant, key in keys.items()}
    return [
        TenantStatus(tenant, worst[tenant], *_last_failure(instance, keys[tenant]))
        if worst[tenant] == "failed"
        else TenantStatus(tenant, worst[tenant], None, None)
        for tenant in tenants
    ]


def _last_failure(instance: dg.DagsterInstance, partition_key: str) -> tuple[str | None, str | None]:
    """The newest failed run that covered the partition, and its step errors."""
    from crm_scoring.defs.sensors import run_partition_keys

    failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=50)
    for run in failed:
        if partition_key in run_partition_keys(run, instance):
            records = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
            ).records
            errors = [
                record.event_log_entry.dagster_event.step_failure_data.error.message.strip()
                for record in records
                if record.event_log_entry.dagster_event
                and record.event_log_entry.dagster_event.step_failure_data.error
            ]
            return run.run_id, "\n".join(errors) or "run failed before any step"
    return None, None
