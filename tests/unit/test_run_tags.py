"""The tags a person reads in the runs list: which days and tenants a run covers. Pure."""

from __future__ import annotations

from datetime import date

import dagster as dg

from crm_scoring.app.operations import BackfillRun
from crm_scoring.defs.jobs import scoring_run_tags
from crm_scoring.defs.sensors import isolation_requests

DAYS, TENANTS, ONE_TENANT = "crm_scoring/days", "crm_scoring/tenants", "crm_scoring/tenant"


def test_one_day_of_several_tenants() -> None:
    tags = scoring_run_tags("schedule", date(2026, 11, 29), date(2026, 11, 29), "tenant-001", "tenant-004")
    assert tags[DAYS] == "2026-11-29"
    assert tags[TENANTS] == "tenant-001…tenant-004"
    assert tags["crm_scoring/trigger"] == "schedule"
    assert ONE_TENANT not in tags  # several tenants: no per-tenant queue limit


def test_a_range_of_days_of_one_tenant() -> None:
    tags = scoring_run_tags("backfill", date(2026, 10, 1), date(2026, 10, 31), "acme", "acme")
    assert (tags[DAYS], tags[TENANTS], tags[ONE_TENANT]) == ("2026-10-01…2026-10-31", "acme", "acme")


def test_backfill_runs_carry_them_with_their_partition_range() -> None:
    tags = BackfillRun(date(2026, 10, 1), date(2026, 10, 31), "a", "d").tags()
    assert tags[DAYS] == "2026-10-01…2026-10-31"
    assert tags[TENANTS] == "a…d"
    assert tags["dagster/asset_partition_range_start"] == "2026-10-01|a"
    assert tags["dagster/asset_partition_range_end"] == "2026-10-31|d"


def test_isolation_reruns_carry_their_one_day_and_tenant() -> None:
    failed = dg.DagsterRun(job_name="scoring_job", run_id="failed-run")
    requests = isolation_requests(failed, ["2026-11-29|acme", "2026-11-29|globex"])
    assert [(r.tags[DAYS], r.tags[TENANTS], r.tags[ONE_TENANT]) for r in requests] == [
        ("2026-11-29", "acme", "acme"),
        ("2026-11-29", "globex", "globex"),
    ]


def test_a_failed_backfill_is_isolated_per_tenant_over_its_days_not_per_day() -> None:
    failed = dg.DagsterRun(job_name="scoring_job", run_id="failed-backfill")
    keys = [f"2026-10-{day:02d}|{tenant}" for day in range(1, 32) for tenant in ("acme", "globex")]
    requests = isolation_requests(failed, keys)
    assert [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ] == [("2026-10-01|acme", "2026-10-31|acme"), ("2026-10-01|globex", "2026-10-31|globex")]
    # an isolation run, or a run of one tenant, is never split again
    assert isolation_requests(failed, [f"2026-10-{day:02d}|acme" for day in range(1, 32)]) == []
    isolation = dg.DagsterRun(job_name="scoring_job", run_id="x", tags=requests[0].tags)
    assert isolation_requests(isolation, keys) == []


def test_an_interrupted_run_is_not_isolated() -> None:
    """A run whose process was stopped failed through no tenant's fault: the tag and value are
    Dagster's own (written on the run when execution is interrupted), pinned here."""
    from dagster._core.events import RunFailureReason
    from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG

    from crm_scoring.defs.sensors import FAILURE_REASON_TAG, UNEXPECTED_TERMINATION

    assert (
        RUN_FAILURE_REASON_TAG,
        RunFailureReason.UNEXPECTED_TERMINATION.value,
    ) == (FAILURE_REASON_TAG, UNEXPECTED_TERMINATION)
    keys = ["2026-11-29|acme", "2026-11-29|globex"]
    interrupted = dg.DagsterRun(
        job_name="scoring_job", run_id="stopped", tags={FAILURE_REASON_TAG: UNEXPECTED_TERMINATION}
    )
    assert isolation_requests(interrupted, keys) == []
    failed = dg.DagsterRun(job_name="scoring_job", run_id="failed", tags={FAILURE_REASON_TAG: "STEP_FAILURE"})
    assert len(isolation_requests(failed, keys)) == 2
