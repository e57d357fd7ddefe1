"""A fault in one tenant's partition, injected into the real PostgreSQL: the other tenants still
get their scores, exactly the bad tenant ends failed with an error naming it, and it reruns."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from crm_scoring import operations
from crm_scoring.definitions import defs
from crm_scoring.defs.sensors import isolate_failed_tenants
from crm_scoring.settings import Settings
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture
def poisoned_tenant(engine: Engine, settings: Settings):
    """A trigger that refuses globex's score rows, as a broken tenant's data would break a write."""
    table = f"{settings.analytics_schema}.customer_scores"
    with engine.begin() as connection:
        connection.execute(
            text(
                "create or replace function test_refuse_globex() returns trigger language plpgsql as $$ "
                "begin raise exception 'injected fault for tenant %', new.tenant_id; end $$"
            )
        )
        connection.execute(
            text(
                f"create trigger refuse_globex before insert on {table} for each row "
                "when (new.tenant_id = 'globex') execute function test_refuse_globex()"
            )
        )
    yield "globex"
    with engine.begin() as connection:
        connection.execute(text(f"drop trigger if exists refuse_globex on {table}"))


def _failure_context(instance: dg.DagsterInstance, run_id: str) -> dg.RunFailureSensorContext:
    run = instance.get_run_by_id(run_id)
    event = (
        instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        .records[0]
        .event_log_entry.dagster_event
    )
    return dg.build_run_status_sensor_context(
        sensor_name=isolate_failed_tenants.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources=defs.resources,
    ).for_run_failure()


def _execute(instance: dg.DagsterInstance, request: dg.RunRequest, log: Path) -> tuple[str, bool]:
    # An isolation run covers one tenant's days of the failed run: a partition range in its tags.
    return operations.execute_scoring_run(instance, request.tags, log)


def _partitions(request: dg.RunRequest) -> str:
    start, end = (request.tags[f"dagster/asset_partition_range_{side}"] for side in ("start", "end"))
    return start if start == end else f"{start}…{end}"


def test_bad_tenant_is_isolated_named_and_rerunnable(
    instance, engine, settings, load_sources, poisoned_tenant, tmp_path
) -> None:
    load_sources(dataset.SOURCES)
    registered = operations.sync_tenants(instance, engine, settings)
    log = tmp_path / "run.log"
    [daily] = operations.score_day(instance, dataset.DAY, registered, None, log)
    assert not daily.success  # one tenant's fault fails the all-tenant run

    requests = list(isolate_failed_tenants(_failure_context(instance, daily.run_id)))
    keys = sorted(_partitions(request) for request in requests)
    assert keys == [f"{dataset.DAY}|acme", f"{dataset.DAY}|globex"]
    with engine.connect() as connection:
        record = connection.execute(
            text(f"select * from {settings.analytics_schema}.run_failures where run_id = :id"),
            {"id": daily.run_id},
        ).one()
    assert record.isolation_runs == 2
    assert "customer_scores" in record.error and "globex" in record.error
    assert "injected fault" in record.error
    assert record.webhook_status == "not configured"

    results = {_partitions(request): _execute(instance, request, log) for request in requests}
    assert results[f"{dataset.DAY}|acme"][1] is True
    assert results[f"{dataset.DAY}|globex"][1] is False
    # An isolated run that fails asks for nothing more: retries are bounded.
    isolated_failure = _failure_context(instance, results[f"{dataset.DAY}|globex"][0])
    assert list(isolate_failed_tenants(isolated_failure)) == []

    status = {s.tenant_id: s for s in operations.day_status(instance, dataset.DAY, registered)}
    assert status["acme"].state == "materialized"
    assert status["globex"].state == "failed"
    assert "tenant(s) globex" in status["globex"].error
    assert "injected fault for tenant globex" in status["globex"].error
    assert status["globex"].run_id == results[f"{dataset.DAY}|globex"][0]
    with engine.connect() as connection:
        scored = dict(
            connection.execute(
                text(
                    f"select tenant_id, count(*) from {settings.analytics_schema}.customer_scores "
                    "where as_of_date = :day group by tenant_id"
                ),
                {"day": dataset.DAY},
            ).all()
        )
    assert scored == {"acme": 6}

    # The fault is fixed; rerunning only the failed tenant completes the day.
    with engine.begin() as connection:
        connection.execute(text(f"drop trigger refuse_globex on {settings.analytics_schema}.customer_scores"))
    [rerun] = operations.score_day(instance, dataset.DAY, registered, ["globex"], log)
    assert rerun.success
    states = {s.tenant_id: s.state for s in operations.day_status(instance, dataset.DAY, registered)}
    assert states == {"acme": "materialized", "globex": "materialized"}
