"""The daily schedule's tick and the tenant-registration sensor, evaluated against a real instance."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from crm_scoring.definitions import build_definitions
from crm_scoring.defs.partitions import scoring_partitions, tenant_partitions
from crm_scoring.defs.schedules import daily_scoring
from crm_scoring.defs.sensors import register_new_tenants
from tests.integration import dataset

pytestmark = pytest.mark.integration


def test_schedule_requests_one_run_for_yesterday_covering_every_tenant(instance) -> None:
    instance.add_dynamic_partitions(tenant_partitions.name, ["acme", "globex", "initech"])
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    )
    requests = list(daily_scoring.evaluate_tick(context).run_requests or [])
    assert len(requests) == 1
    request = requests[0]
    assert request.run_key == "daily-2026-03-15"
    covered = scoring_partitions.get_partition_keys_in_range(
        request.partition_key_range, dynamic_partitions_store=instance
    )
    assert sorted(covered) == ["2026-03-15|acme", "2026-03-15|globex", "2026-03-15|initech"]
    # readable in the runs list: the day and the tenants (registry order) it covers
    assert request.tags["crm_scoring/days"] == "2026-03-15"
    assert request.tags["crm_scoring/tenants"] == "acme…initech"
    assert daily_scoring.cron_schedule == "0 2 * * *"


def test_schedule_skips_without_tenants(instance) -> None:
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    )
    result = daily_scoring.evaluate_tick(context)
    assert not result.run_requests
    assert "No tenant registered" in (result.skip_message or "")


def test_sensor_registers_new_tenants_once(instance, engine, load_sources) -> None:
    load_sources(dataset.SOURCES)
    resources = build_definitions().resources
    context = dg.build_sensor_context(instance=instance, resources=resources)
    result = register_new_tenants(context)
    requested = [req.partition_keys for req in result.dynamic_partitions_requests]
    assert requested == [["acme", "globex"]]
    instance.add_dynamic_partitions(tenant_partitions.name, ["acme", "globex"])
    again = register_new_tenants(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(again, dg.SkipReason)
