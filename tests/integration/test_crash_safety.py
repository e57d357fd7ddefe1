"""Crash safety on real PostgreSQL and real processes: kill -9 mid-write, connections dropped
mid-run, two runs of one partition at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from crm_scoring.settings import Settings
from tests.integration import dataset

pytestmark = [pytest.mark.integration, pytest.mark.fault]


@pytest.fixture
def slow_score_writes(engine: Engine, settings: Settings) -> Iterator[None]:
    """Each customer_scores row takes 0.5 s to insert, so a run is caught mid-write."""
    table = f"{settings.analytics_schema}.customer_scores"
    with engine.begin() as connection:
        connection.execute(
            text(
                "create or replace function test_slow_insert() returns trigger language plpgsql as $$ "
                "begin perform pg_sleep(0.5); return new; end $$"
            )
        )
        connection.execute(
            text(
                f"create trigger slow_insert before insert on {table} for each row "
                "execute function test_slow_insert()"
            )
        )
    yield
    with engine.begin() as connection:
        connection.execute(text(f"drop trigger if exists slow_insert on {table}"))


def _run_cli(tmp_path: Path, dagster_storage_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CRM_SCORING_HOME": str(tmp_path / "home"),
        "CRM_SCORING_DAGSTER_STORAGE_URL": dagster_storage_url,
    }
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "crm_scoring.app.cli", "run", "--date", str(dataset.DAY)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_score_copy(engine: Engine, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        with engine.connect() as connection:
            active = connection.execute(
                text(
                    "select count(*) from pg_stat_activity where state = 'active' "
                    "and query ilike 'copy %customer_scores%'"
                )
            ).scalar_one()
        if active:
            return
        time.sleep(0.2)
    raise AssertionError("the run never started writing scores")


def _wait_until_no_copy(engine: Engine) -> None:
    for _ in range(100):
        with engine.connect() as connection:
            if not connection.execute(
                text(
                    "select count(*) from pg_stat_activity where query ilike 'copy %customer_scores%' "
                    "and pid <> pg_backend_pid()"
                )
            ).scalar_one():
                return
        time.sleep(0.1)


def _scores(engine: Engine, settings: Settings) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(
                f"select tenant_id, customer_id, engagement_score, churn_risk_score, run_id "
                f"from {settings.analytics_schema}.customer_scores order by 1, 2"
            ),
            connection,
        )


@pytest.fixture
def scored_once(scored_day, engine, settings) -> pd.DataFrame:
    return _scores(engine, settings)


def test_kill_9_mid_write_leaves_the_old_partition_whole(
    scored_once, slow_score_writes, engine, settings, dagster_storage_url, tmp_path
) -> None:
    process = _run_cli(tmp_path, dagster_storage_url)
    _wait_for_score_copy(engine, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    _wait_until_no_copy(engine)
    # Exactly the previous complete partition: same rows, same values, same run.
    pd.testing.assert_frame_equal(_scores(engine, settings), scored_once)

    with engine.begin() as connection:
        connection.execute(text(f"drop trigger slow_insert on {settings.analytics_schema}.customer_scores"))
    rerun = _run_cli(tmp_path, dagster_storage_url)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    after = _scores(engine, settings)
    assert after["run_id"].nunique() == 1 and set(after["run_id"]) != set(scored_once["run_id"])
    pd.testing.assert_frame_equal(after.drop(columns="run_id"), scored_once.drop(columns="run_id"))


def test_dropped_connections_fail_the_run_clearly_and_its_isolation_scores_the_day(
    scored_once, slow_score_writes, engine, settings, dagster_storage_url, tmp_path
) -> None:
    process = _run_cli(tmp_path, dagster_storage_url)
    _wait_for_score_copy(engine, process)
    with engine.connect() as connection:  # what a PostgreSQL restart does to every session
        connection.execute(
            text(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()"
            )
        )
    output, _ = process.communicate(timeout=300)
    # The all-tenant run failed; the command re-ran each tenant alone (as the daemon's sensor
    # would), which found nothing wrong with either: the day is scored, exit 0.
    assert "(acme … globex): FAILED" in output, output
    assert "(acme alone): succeeded" in output and "(globex alone): succeeded" in output, output
    assert process.returncode == 0, output
    after = _scores(engine, settings)
    assert set(after["run_id"]).isdisjoint(scored_once["run_id"])
    pd.testing.assert_frame_equal(after.drop(columns="run_id"), scored_once.drop(columns="run_id"))


def test_sigterm_mid_run_stops_the_command_without_isolating_tenants(
    scored_once, slow_score_writes, engine, settings, dagster_storage_url, tmp_path
) -> None:
    """An operator stopping a command (Ctrl-C, SIGTERM) gets it stopped: the run over both
    tenants fails as interrupted and is recorded, but no tenant is re-run alone for it."""
    process = _run_cli(tmp_path, dagster_storage_url)
    _wait_for_score_copy(engine, process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "interrupted: run " in output and "alone" not in output, output
    with engine.connect() as connection:
        recorded = (
            connection.execute(text(f"select isolation_runs from {settings.analytics_schema}.run_failures"))
            .scalars()
            .all()
        )
    assert recorded == [0]
    after = _scores(engine, settings)  # each tenant's partition whole: the old one or the new one
    assert after.groupby("tenant_id")["run_id"].nunique().eq(1).all()
    pd.testing.assert_frame_equal(after.drop(columns="run_id"), scored_once.drop(columns="run_id"))


def test_two_runs_of_one_partition_at_once_do_not_duplicate(
    scored_once, engine, settings, dagster_storage_url, tmp_path
) -> None:
    # The schedule and an on-call rerun, as two processes started together.
    runs = [_run_cli(tmp_path / f"p{i}", dagster_storage_url) for i in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs  # the second waited, then replaced
    after = _scores(engine, settings)
    assert len(after) == len(scored_once)
    assert after["run_id"].nunique() == 1  # one run's complete partition, not a mix
    with engine.connect() as connection:
        alerts = connection.execute(
            text(f"select count(*), count(distinct alert_id) from {settings.analytics_schema}.churn_alerts")
        ).one()
    assert tuple(alerts) == (1, 1)


# Starts dbt as a run process does (the resource's executable, the run's pid in the environment),
# prints dbt's pid, and waits to be killed.
_RUN_STARTING_DBT = """
import os, subprocess, sys, time
from crm_scoring.dbt_child import PARENT_PID_ENV
os.environ[PARENT_PID_ENV] = str(os.getpid())
print(subprocess.Popen(sys.argv[1:]).pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie is dead, waiting for init to reap it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_kill_9_of_a_run_kills_its_dbt(engine, database_url) -> None:
    from crm_scoring.defs.resources import build_resources
    from crm_scoring.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR
    from crm_scoring.warehouse.urls import dbt_connection_env

    assert build_resources()["dbt"].dbt_executable == DBT_EXECUTABLE  # what the runs start
    query = "select pg_sleep(300) as dbt_held_by_a_dead_run"
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    run = subprocess.Popen(
        [sys.executable, "-c", _RUN_STARTING_DBT, DBT_EXECUTABLE, "show", "--inline", query, *project],
        env={**os.environ, **dbt_connection_env(database_url)},
        stdout=subprocess.PIPE,
        text=True,
    )
    dbt = int(run.stdout.readline())
    for _ in range(600):  # dbt is connected and busy
        with engine.connect() as connection:
            if connection.execute(
                text(
                    "select count(*) from pg_stat_activity where query like '%dbt_held_by_a_dead_run%' "
                    "and pid <> pg_backend_pid()"
                )
            ).scalar_one():
                break
        assert _alive(dbt), "dbt ended before it was busy"
        time.sleep(0.1)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    # Dies with the run (not 300 s later); polled, as the kernel delivers the signal asynchronously.
    for _ in range(100):
        if not _alive(dbt):
            break
        time.sleep(0.1)
    assert not _alive(dbt)


def test_scope_rows_of_a_dead_run_are_cleared_by_the_next_build(engine, database_url, settings) -> None:
    from crm_scoring.defs.resources import warehouse_resource
    from crm_scoring.scope import day_scopes

    scope_table = f"{settings.analytics_schema}.scoring_scope"
    with engine.begin() as connection:  # what a run killed mid-build leaves behind
        connection.execute(
            text(
                f"insert into {scope_table} (scope_id, as_of_date, tenant_id, as_of, since_1d, since_30d, "
                "since_90d, since_180d) values ('killed-run', '2026-03-14', 'acme', now(), now(), now(), "
                "now(), now())"
            )
        )
    warehouse = warehouse_resource(database_url)
    scopes = day_scopes([(str(dataset.DAY), "acme")], settings.tz)
    with warehouse.registered_scope("next-run", scopes):
        with engine.connect() as connection:
            ids = connection.execute(text(f"select distinct scope_id from {scope_table}")).scalars().all()
        assert ids == ["next-run"]
    with engine.connect() as connection:
        assert connection.execute(text(f"select count(*) from {scope_table}")).scalar_one() == 0
