"""A fault in one tenant's partition, injected into the real PostgreSQL, through the command line
as on-call meets it: `crm-scoring run` isolates it and names exactly that tenant, `status` agrees,
the failure is on the job's page and the daemon's sensor sees it (without isolating it twice)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.build_resources import wrap_resources_for_execution
from dagster._core.remote_origin import RemoteRepositoryOrigin
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG
from dagster._core.workspace.load import location_origins_from_yaml_paths
from sqlalchemy import Engine, text

from crm_scoring.app import operations
from crm_scoring.definitions import build_definitions
from crm_scoring.defs.sensors import isolate_failed_tenants
from crm_scoring.settings import PROJECT_ROOT, Settings
from tests.integration import dataset
from tests.integration.test_cli import crm_scoring

pytestmark = pytest.mark.integration

# The code location as the webserver and the daemon load it.
[WORKSPACE_LOCATION] = location_origins_from_yaml_paths([str(PROJECT_ROOT / "workspace.yaml")])
REPOSITORY_LABEL = RemoteRepositoryOrigin(WORKSPACE_LOCATION, "__repository__").get_label()


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


def _daemon_tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorExecutionData:
    """One tick of isolate_failed_tenants as the daemon evaluates it: in the workspace's code
    location, which decides which runs it monitors."""
    context = dg.SensorEvaluationContext(
        instance_ref=None,
        instance=instance,
        cursor=cursor,
        repository_name="__repository__",
        definitions=build_definitions(),
        sensor_name=isolate_failed_tenants.name,
        resources=wrap_resources_for_execution(build_definitions().resources),
        code_location_origin=WORKSPACE_LOCATION,
    )
    return isolate_failed_tenants.evaluate_tick(context)


def test_one_failing_tenant_is_isolated_named_and_on_the_jobs_page(
    instance, engine, settings, cli_database, poisoned_tenant, tmp_path: Path
) -> None:
    day = str(dataset.DAY)
    with engine.begin() as connection:  # figures of an earlier run of globex's day
        connection.execute(
            text(
                f"insert into {settings.analytics_schema}.churn_risk_overview (as_of_date, tenant_id, "
                "critical, high, medium, low, total) values (:day, 'globex', 777, 0, 0, 0, 777)"
            ),
            {"day": dataset.DAY},
        )
    cursor = _daemon_tick(instance, None).cursor  # the daemon was watching before the run

    run = crm_scoring("run", "--date", day, home=tmp_path, **cli_database)
    assert run.returncode == 1, run.stderr[-3000:]
    output = run.stdout + run.stderr
    # One line names the tenant, the asset and the cause; no trace, no stale figures.
    [cause] = [line for line in output.splitlines() if "injected fault" in line]
    print(output)  # shown when an assertion fails
    assert cause.startswith("FAILED globex: customer_scores failed for 2026-03-15 tenant(s) globex: ")
    assert "RaiseException: injected fault for tenant globex" in cause
    assert "COPY customer_scores" in cause  # the table and the refused row
    assert "Traceback" not in output and "Empty DataFrame" not in output
    rows_of = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert "acme" in rows_of and "globex" not in rows_of  # figures of acme only, not globex's old ones
    assert "error: 1 of 2 tenant(s) not scored on 2026-03-15: globex" in run.stderr
    assert "injected fault" in (tmp_path / "logs" / f"run-{day}.log").read_text()  # the trace

    status = crm_scoring("status", "--date", day, home=tmp_path, **cli_database)
    assert status.returncode == 1, status.stderr[-3000:]
    lines = status.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:3]] == [["acme", "materialized"], ["globex", "failed"]]
    assert sum("injected fault" in line for line in lines) == 1
    assert f"{day}: 1 materialized, 1 failed, 0 missing or in progress, of 2 tenants" in status.stdout

    # The job's page lists the runs of the job in its code location, as the UI queries them.
    on_the_page = instance.get_runs(
        dg.RunsFilter(job_name="scoring_job", tags={REPOSITORY_LABEL_TAG: REPOSITORY_LABEL})
    )
    by_tenants = {(r.tags["crm_scoring/tenants"], r.status) for r in on_the_page}
    assert by_tenants == {
        ("acme…globex", dg.DagsterRunStatus.FAILURE),
        ("acme", dg.DagsterRunStatus.SUCCESS),  # the isolation runs, one per tenant
        ("globex", dg.DagsterRunStatus.FAILURE),
    }
    [daily] = [r for r in on_the_page if r.tags["crm_scoring/tenants"] == "acme…globex"]

    # The daemon's sensor sees the failed run, which the command has handled: not twice.
    tick = _daemon_tick(instance, cursor)
    assert tick.run_requests == []
    assert tick.skip_message == f"Run {daily.run_id} was handled already (by the command that ran it)"
    with engine.connect() as connection:
        failures = connection.execute(
            text(f"select run_id, isolation_runs, error from {settings.analytics_schema}.run_failures")
        ).all()
    assert {(row.run_id == daily.run_id, row.isolation_runs) for row in failures} == {(True, 2), (False, 0)}
    # A run nobody handled yet (the schedule's): the sensor isolates it, one run per tenant.
    with engine.begin() as connection:
        connection.execute(
            text(f"delete from {settings.analytics_schema}.run_failures where run_id = :id"),
            {"id": daily.run_id},
        )
    requests = _daemon_tick(instance, cursor).run_requests
    assert sorted(r.tags["crm_scoring/tenant"] for r in requests) == ["acme", "globex"]

    # The fault is fixed; rerunning only the failed tenant completes the day.
    with engine.begin() as connection:
        connection.execute(text(f"drop trigger refuse_globex on {settings.analytics_schema}.customer_scores"))
    rerun = crm_scoring("rerun-failed", "--date", day, home=tmp_path, **cli_database)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Rerunning 1 failed tenant(s): globex" in rerun.stdout
    scored = crm_scoring("status", "--date", day, home=tmp_path, **cli_database)
    assert f"{day}: 2 materialized, 0 failed" in scored.stdout


@pytest.fixture
def profile_twice(engine: Engine, settings: Settings, load_sources):
    """globex's g1 twice, in a source table without the contract's primary key."""
    load_sources(dataset.SOURCES)
    table = f"{settings.source_schema}.customer_profiles"
    with engine.begin() as connection:
        connection.execute(text(f"alter table {table} drop constraint customer_profiles_pkey"))
        connection.execute(text(f"insert into {table} select * from {table} where id = 'g1'"))
    yield "globex"
    with engine.begin() as connection:
        connection.execute(
            text(f"delete from {table} where ctid not in (select min(ctid) from {table} group by id)")
        )
        connection.execute(
            text(f"alter table {table} add constraint customer_profiles_pkey primary key (id)")
        )


def test_a_customer_twice_in_a_partition_fails_only_its_tenant(
    instance, engine, settings, profile_twice, tmp_path: Path
) -> None:
    # No dbt test looks for it: the unique index on customer_features' key refuses the second
    # row as the build writes it, and the isolation runs pin the failure to the tenant.
    registered = operations.sync_tenants(instance, engine, settings)
    log = tmp_path / "run.log"
    outcomes = operations.score_day(instance, dataset.DAY, registered, None, log)
    assert [(o.first_tenant, o.last_tenant, o.success) for o in outcomes] == [
        ("acme", "globex", False),
        ("acme", "acme", True),
        ("globex", "globex", False),
    ]
    assert "customer_features_pk" in log.read_text()
    with engine.connect() as connection:
        scored = connection.execute(
            text(
                f"select tenant_id, count(*) from {settings.analytics_schema}.customer_features "
                "where as_of_date = :day group by tenant_id"
            ),
            {"day": dataset.DAY},
        ).all()
    # acme's c1, c2, c3 (INACTIVE), c6, c7, c8; not c4 (MERGED) nor c5 (deleted before as_of)
    assert dict(scored) == {"acme": 6}


def test_a_customer_twice_on_a_rerun_fails_its_tenant_and_keeps_its_rows(
    scored_day, instance, engine, settings, tmp_path: Path
) -> None:
    # A rerun writes only the rows it does not find (macros/scope_replace.sql), so the unique
    # index never sees a key whose row it keeps: the build counts instead. g1 twice, from a
    # version the profile history holds twice (as two captures at once would leave it).
    history, features = (f"{settings.analytics_schema}.{t}" for t in ("profile_history", "customer_features"))
    globex_rows = text(
        f"select customer_id, xmin::text from {features} where as_of_date = :day and tenant_id = 'globex'"
    )
    with engine.begin() as connection:
        connection.execute(text(f"insert into {history} select * from {history} where customer_id = 'g1'"))
        written = connection.execute(globex_rows, {"day": dataset.DAY}).all()
    registered = operations.sync_tenants(instance, engine, settings)
    log = tmp_path / "run.log"
    [outcome] = operations.score_day(instance, dataset.DAY, registered, ["globex"], log)
    assert not outcome.success
    output = log.read_text()
    assert 'duplicate key value violates unique constraint "customer_features_pk"' in output
    assert "Key (as_of_date, tenant_id, customer_id)=(2026-03-15, globex, g1) is built twice" in output
    with engine.connect() as connection:  # the failed run left g1's row of the first run
        assert connection.execute(globex_rows, {"day": dataset.DAY}).all() == written
