"""What the CLI does, as functions: register tenants, score a day through Dagster, read results.

Runs go through the Dagster instance (recorded, visible in the UI), never around it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from sqlalchemy import Engine

from crm_scoring.scope import as_of_instant, tenant_partition_key
from crm_scoring.settings import DATABASE_URL_ENV, PROJECT_ROOT, Settings, load_settings
from crm_scoring.warehouse import migrations
from crm_scoring.warehouse.schema import apply_ddl, relation_exists, source_ddl
from crm_scoring.warehouse.tenants import distinct_tenant_ids, record_tenant_keys, tenants_for_keys
from crm_scoring.warehouse.urls import warehouse_engine

# The full event log lives in the instance (UI); the log file only needs warnings and errors.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# pyproject.toml [tool.dagster] and workspace.yaml name the same (a unit test checks).
CODE_LOCATION_NAME = "crm_scoring"
DEFINITIONS_MODULE = "crm_scoring.definitions"


class UsageError(Exception):
    """A request the operator can correct: bad date, unknown tenant, and the like."""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    first_tenant: str
    last_tenant: str
    success: bool
    isolates: str | None = None  # the failed run whose tenant this one re-ran alone


@contextlib.contextmanager
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    """The instance of DAGSTER_HOME, holding its storage connections open for the command.

    Dagster's PostgreSQL storage opens a connection per query unless told it lives in a long
    process (what the webserver tells it): a one-tenant run makes ~700 queries, 2.4 s of
    connecting. No statement timeout (0): a command waits for its run, however large."""
    with dg.DagsterInstance.get() as instance:
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
        yield instance


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
        outcomes += score_and_isolate(instance, tags, first, last, output_log)
    return outcomes


def score_and_isolate(
    instance: dg.DagsterInstance, tags: dict[str, str], first_tenant: str, last_tenant: str, output_log: Path
) -> list[RunOutcome]:
    """One scoring run and, when it fails over several tenants, its isolation runs (one per
    tenant, as the isolate_failed_tenants sensor would launch them, waited for here): the
    good tenants get scored, exactly the bad ones stay failed."""
    from crm_scoring.defs.jobs import TENANT_TAG
    from crm_scoring.defs.sensors import ISOLATES_TAG, was_interrupted

    run_id, success = execute_scoring_run(instance, tags, output_log)
    outcomes = [RunOutcome(run_id, first_tenant, last_tenant, success)]
    if success:
        return outcomes
    requests = _record_failure(instance, run_id) or []
    if was_interrupted(instance.get_run_by_id(run_id)):
        raise RunInterrupted(run_id)
    for request in requests:
        isolated_id, isolated = execute_scoring_run(instance, dict(request.tags), output_log)
        tenant = request.tags[TENANT_TAG]
        outcomes.append(RunOutcome(isolated_id, tenant, tenant, isolated, request.tags[ISOLATES_TAG]))
        if not isolated:
            _record_failure(instance, isolated_id)
    return outcomes


def _record_failure(instance: dg.DagsterInstance, run_id: str) -> list[dg.RunRequest] | None:
    from crm_scoring.defs.sensors import handle_failed_run

    settings = load_settings()
    engine = warehouse_engine(os.environ[DATABASE_URL_ENV])
    try:
        return handle_failed_run(instance, engine, settings.analytics_schema, instance.get_run_by_id(run_id))
    finally:
        engine.dispose()


class RunInterrupted(Exception):
    """This process was told to stop (Ctrl-C, SIGTERM) while a run was executing: the run is
    recorded as failed, and the command stops instead of isolating tenants or going on."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


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


def code_location_job_origin(job_name: str) -> RemoteJobOrigin:
    """The origin the webserver and the daemon give a run of the job: its code location (the
    one of workspace.yaml and pyproject's [tool.dagster]). A run created with it is in the
    job's Runs tab, and the run-status sensors (isolate_failed_tenants) see it."""
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=DEFINITIONS_MODULE,
            working_directory=str(PROJECT_ROOT),
        ),
        location_name=CODE_LOCATION_NAME,
    )
    return RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME).get_job_origin(job_name)


def _execute(
    job: Callable[[], dg.JobDefinition],
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    output_log: Path,
    ops: dict | None = None,
) -> tuple[str, bool]:
    """Creates a run of the code location's job, as a launch from the UI would, and executes
    it in this process (so the command can wait for it and needs no daemon)."""
    reconstructable = dg.reconstructable(job)
    job_def = reconstructable.get_definition()
    run = instance.create_run_for_job(
        job_def=job_def,
        run_config={**_QUIET_CONSOLE, **({"ops": ops} if ops else {})},
        tags={**job_def.run_tags, **tags},
        job_code_origin=reconstructable.get_python_origin(),
        remote_job_origin=code_location_job_origin(job_def.name),
    )
    # dbt's progress lines and the failures' traces go to the log file; the UI keeps them per
    # step as well. The terminal gets one line per failed tenant from the caller.
    with output_log.open("a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        result = execute_run(reconstructable, run, instance)
    return result.run_id, result.success


def today_in(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


def synthetic_history_end(settings: Settings) -> datetime:
    """Where generated data ends: the end of yesterday, the latest day a run scores by default.
    Not the current instant: the same seed then loads the same rows all day long (ending "now",
    every event moved with the clock, and a day's counts with it)."""
    return as_of_instant(today_in(settings) - timedelta(days=1), settings.tz)


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
    """The newest failed run that covered the partition, and its errors (one line each)."""
    from crm_scoring.defs.sensors import run_failure_message, run_partition_keys, step_errors

    failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=50)
    for run in failed:
        if partition_key in run_partition_keys(run, instance):
            errors = [error for _, error in step_errors(instance, run.run_id)]
            return run.run_id, "; ".join(errors) or run_failure_message(instance, run.run_id)
    return None, None
