"""Sensors: new tenants become partitions; failed runs are recorded, reported and isolated.

A daily run covers every tenant of the day. If one tenant's data breaks it,
isolate_failed_tenants re-runs that day tenant by tenant, once, so the good tenants still
get scored and exactly the bad tenant's partition stays failed.
"""

import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

import dagster as dg
from sqlalchemy import Engine

from crm_scoring.defs.jobs import RANGE_END_TAG, RANGE_START_TAG, partition_range_run_tags, scoring_job
from crm_scoring.defs.partitions import (
    DATE_DIMENSION,
    TENANT_DIMENSION,
    scoring_partitions,
    tenant_partitions,
)
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.delivery.notices import post_json
from crm_scoring.scope import split_new_tenants
from crm_scoring.settings import WEBHOOK_ENV
from crm_scoring.warehouse.run_failures import claim_run_failure, set_webhook_status

ISOLATES_TAG = "crm_scoring/isolates_run"
# Dagster's run tag and value for a run whose process was interrupted (dagster._core.storage.tags
# and dagster._core.events.RunFailureReason, both private; tests/unit/test_run_tags.py pins them).
FAILURE_REASON_TAG = "dagster/failure_reason"
UNEXPECTED_TERMINATION = "UNEXPECTED_TERMINATION"


@dg.sensor(
    name="register_new_tenants",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds tenants that appear in customer_profiles to the tenant partitions.",
)
def register_new_tenants(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    known = context.instance.get_dynamic_partitions(tenant_partitions.name)
    new, blank = split_new_tenants(warehouse.tenant_ids(), known)
    if blank:
        context.log.warning(f"{len(blank)} blank tenant id(s) in customer_profiles: not scored")
    if not new:
        return dg.SkipReason(f"No new tenant ({len(known)} registered).")
    warehouse.record_tenant_keys(new)
    return dg.SensorResult(dynamic_partitions_requests=[tenant_partitions.build_add_request(list(new))])


def run_partition_keys(run: dg.DagsterRun, instance: dg.DagsterInstance) -> list[str]:
    """The multi-partition keys a run covered: its single key or its range."""
    if run.tags.get(RANGE_START_TAG):
        key_range = dg.PartitionKeyRange(run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG])
        return list(
            scoring_partitions.get_partition_keys_in_range(key_range, dynamic_partitions_store=instance)
        )
    key = run.tags.get("dagster/partition")
    return [key] if key else []


def isolation_requests(run: dg.DagsterRun, keys: Sequence[str]) -> list[dg.RunRequest]:
    """One run per tenant of a failed run over several tenants, covering that tenant's days of
    it (a backfill's month stays one run per tenant, not one per day); none for a run that was
    already isolated or covered one tenant, so retries are bounded and never loop, and none for
    a run that was interrupted: its process was stopped (Ctrl-C, SIGTERM), no tenant failed."""
    days_by_tenant: dict[str, list[date]] = defaultdict(list)
    for key in keys:
        dimensions = scoring_partitions.get_partition_key_from_str(key).keys_by_dimension
        days_by_tenant[dimensions[TENANT_DIMENSION]].append(date.fromisoformat(dimensions[DATE_DIMENSION]))
    if run.tags.get(ISOLATES_TAG) or len(days_by_tenant) < 2 or was_interrupted(run):
        return []
    return [
        dg.RunRequest(
            run_key=f"isolate:{run.run_id}:{tenant}",
            tags={
                ISOLATES_TAG: run.run_id,
                **partition_range_run_tags("isolation", min(days), max(days), tenant, tenant),
            },
        )
        for tenant, days in days_by_tenant.items()
    ]


def was_interrupted(run: dg.DagsterRun) -> bool:
    """Whether the run failed because its process was told to stop rather than because a step
    failed (Dagster tags such a failure dagster/failure_reason=UNEXPECTED_TERMINATION)."""
    return run.tags.get(FAILURE_REASON_TAG) == UNEXPECTED_TERMINATION


def step_errors(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, error message) of each failed step of the run: one line each (see
    naming_partitions); the traces stay in the run's event log (the UI) and the CLI's log file."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    errors = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if not event:
            continue
        failure = event.step_failure_data
        # A Failure's description (naming_partitions: one line), else the error's first line
        if failure.user_failure_data and failure.user_failure_data.description:
            errors.append((event.step_key or "", failure.user_failure_data.description))
        elif failure.error:
            errors.append((event.step_key or "", failure.error.message.strip().splitlines()[0]))
    return errors


def run_failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    """Why a run that failed before any step (e.g. a resource that could not start) failed."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    messages = [
        record.event_log_entry.dagster_event.message
        for record in records
        if record.event_log_entry.dagster_event
    ]
    return next((message for message in messages if message), "the run failed before any step")


def handle_failed_run(
    instance: dg.DagsterInstance, engine: Engine, analytics_schema: str, run: dg.DagsterRun
) -> list[dg.RunRequest] | None:
    """Records a failed scoring run in run_failures, posts it to the webhook, and returns its
    isolation runs; None when it was handled already. The daemon's sensor and the command
    that ran the run (which waits for the isolation) both call this: the first to record the
    run isolates it, so nothing is isolated twice."""
    keys = run_partition_keys(run, instance)
    errors = step_errors(instance, run.run_id)
    requests = isolation_requests(run, keys)
    record = {
        "run_id": run.run_id,
        "failed_at": datetime.now(UTC),
        "partition_keys": keys,
        "failed_steps": [step for step, _ in errors],
        "error": "\n".join(error for _, error in errors) or run_failure_message(instance, run.run_id),
        "isolation_runs": len(requests),
        "webhook_status": "pending",
    }
    table = f"{analytics_schema}.run_failures"
    if not claim_run_failure(engine, table, record):
        return None
    webhook = os.environ.get(WEBHOOK_ENV)
    status = post_json(webhook, {"event": "scoring_run_failed", **record}) if webhook else "not configured"
    set_webhook_status(engine, table, run.run_id, status)
    return requests


@dg.run_failure_sensor(
    name="isolate_failed_tenants",
    monitored_jobs=[scoring_job],
    request_job=scoring_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "On a failed scoring run: records it in analytics.run_failures, posts it to "
        f"{WEBHOOK_ENV} when set, and re-runs a multi-tenant run tenant by tenant (once). "
        "A run started by crm-scoring is handled by the command itself, which waits for it."
    ),
)
def isolate_failed_tenants(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    requests = handle_failed_run(context.instance, warehouse.engine, warehouse.analytics_schema, run)
    if requests is None:
        yield dg.SkipReason(f"Run {run.run_id} was handled already (by the command that ran it)")
        return
    context.log.info(f"Run {run.run_id} failed; {len(requests)} isolation run(s)")
    yield from requests
