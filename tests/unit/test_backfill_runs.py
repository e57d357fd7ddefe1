"""How a backfill splits (day, tenant) partitions into runs: pure, no Dagster instance."""

from __future__ import annotations

from datetime import date, timedelta

from crm_scoring.app.operations import BackfillRun, backfill_runs

REGISTRY = ["a", "b", "c", "d"]
START = date(2026, 1, 1)


def days(count: int) -> list[date]:
    return [START + timedelta(days=offset) for offset in range(count)]


def test_every_tenant_pending_makes_one_run_per_chunk() -> None:
    pending = dict.fromkeys(days(70), REGISTRY)
    runs = backfill_runs(pending, REGISTRY, days_per_run=31)
    # 70 days: 31 + 31 + 8, each over the whole registry.
    assert runs == [
        BackfillRun(date(2026, 1, 1), date(2026, 1, 31), "a", "d"),
        BackfillRun(date(2026, 2, 1), date(2026, 3, 3), "a", "d"),
        BackfillRun(date(2026, 3, 4), date(2026, 3, 11), "a", "d"),
    ]


def test_materialized_partitions_are_skipped() -> None:
    # Days 1-3 done for all; day 4 failed for b and d only; days 5-6 pending for everybody.
    pending = {day: [] for day in days(3)}
    pending[START + timedelta(days=3)] = ["b", "d"]
    pending |= {START + timedelta(days=offset): REGISTRY for offset in (4, 5)}
    runs = backfill_runs(pending, REGISTRY, days_per_run=31)
    # b and d are not contiguous in the registry: one run each for day 4.
    assert runs == [
        BackfillRun(date(2026, 1, 4), date(2026, 1, 4), "b", "b"),
        BackfillRun(date(2026, 1, 4), date(2026, 1, 4), "d", "d"),
        BackfillRun(date(2026, 1, 5), date(2026, 1, 6), "a", "d"),
    ]


def test_a_gap_of_done_days_splits_a_chunk_and_nothing_pending_means_no_run() -> None:
    pending = {key: ["b", "c"] for key in days(5)}
    pending[START + timedelta(days=2)] = []
    assert backfill_runs(pending, REGISTRY, days_per_run=31) == [
        BackfillRun(date(2026, 1, 1), date(2026, 1, 2), "b", "c"),
        BackfillRun(date(2026, 1, 4), date(2026, 1, 5), "b", "c"),
    ]
    assert backfill_runs({key: [] for key in days(5)}, REGISTRY, days_per_run=31) == []


def test_run_tags_name_the_rectangle_of_partitions() -> None:
    tags = BackfillRun(date(2026, 1, 1), date(2026, 1, 31), "a", "d").tags()
    assert tags["dagster/asset_partition_range_start"] == "2026-01-01|a"
    assert tags["dagster/asset_partition_range_end"] == "2026-01-31|d"
    assert tags["crm_scoring/trigger"] == "backfill"
    assert "crm_scoring/tenant" not in tags  # several tenants: no per-tenant queue limit
    assert BackfillRun(START, START, "b", "b").tags()["crm_scoring/tenant"] == "b"
