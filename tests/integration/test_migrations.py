"""Schema changes are versioned migrations applied by init-db; runs take no DDL (issue 12, B6)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, create_engine, event, text

from crm_scoring.app import operations
from crm_scoring.settings import Settings
from crm_scoring.warehouse import migrations
from crm_scoring.warehouse.schema import source_ddl
from tests.conftest import _fresh_database
from tests.integration import dataset

pytestmark = pytest.mark.integration

# Long enough for any lock a run legitimately waits for (another writer's short transaction),
# far shorter than a reader's transaction that never ends during the test.
_RUN_LOCK_TIMEOUT = "5s"


def _score(instance: dg.DagsterInstance, engine: Engine, settings: Settings, log: Path) -> bool:
    registered = operations.sync_tenants(instance, engine, settings)
    outcomes = operations.score_day(instance, dataset.DAY, registered, None, log)
    return all(outcome.success for outcome in outcomes)


def test_a_run_finishes_while_a_reader_holds_a_transaction_open(
    instance, engine, settings, load_sources, tmp_path, monkeypatch
) -> None:
    """A BI session with a transaction open on customer_scores (AccessShareLock) must not stall
    a run: the run's processes get a lock_timeout (libpq reads PGOPTIONS), so a run that asked
    for a lock conflicting with the reader's (ALTER TABLE: ACCESS EXCLUSIVE) fails instead of
    waiting, and this test fails rather than hangs."""
    load_sources(dataset.SOURCES)
    scores = f"{settings.analytics_schema}.customer_scores"
    reader = engine.connect()
    try:
        reader.execute(text(f"select count(*) from {scores}"))  # autobegin: stays open
        reader_pid = reader.execute(text("select pg_backend_pid()")).scalar_one()
        monkeypatch.setenv("PGOPTIONS", f"-c lock_timeout={_RUN_LOCK_TIMEOUT}")
        succeeded = _score(instance, engine, settings, tmp_path / "run.log")
        monkeypatch.delenv("PGOPTIONS")
        with engine.connect() as observer:
            reader_state = observer.execute(
                text("select state from pg_stat_activity where pid = :pid"), {"pid": reader_pid}
            ).scalar_one()
        assert reader_state == "idle in transaction"  # the reader's transaction was open throughout
    finally:
        reader.rollback()
        reader.close()
    assert succeeded, _step_errors(instance)


def _step_errors(instance: dg.DagsterInstance) -> list[str]:
    """Each failed step's chain of errors in the latest run, down to the SQL that failed."""
    errors = []
    for record in instance.get_records_for_run(instance.get_runs()[0].run_id).records:
        event = record.event_log_entry.dagster_event
        if event and event.is_step_failure:
            error, chain = event.step_failure_data.error, []
            while error:
                chain.append(error.message.strip())
                error = error.cause
            errors.append("\n".join(chain))
    return errors


@pytest.fixture
def empty_database(server_url: str) -> Iterator[Engine]:
    name = f"crm_scoring_empty_{uuid.uuid4().hex[:8]}"
    engine = create_engine(_fresh_database(server_url, name))
    yield engine
    engine.dispose()
    with create_engine(server_url, isolation_level="AUTOCOMMIT").connect() as admin:
        admin.execute(text(f'drop database if exists "{name}" with (force)'))


def _statements_of(engine: Engine) -> list[str]:
    """Records every statement the engine sends from now on."""
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    return sent


def test_init_db_migrates_an_empty_database_to_head_and_a_second_time_changes_nothing(
    empty_database, settings
) -> None:
    head = migrations.head_revision()
    assert operations.init_db(empty_database, settings) == (None, head)
    with empty_database.connect() as connection:
        assert migrations.current_revision(connection, settings.analytics_schema) == head
        columns = connection.execute(
            text(
                "select column_name from information_schema.columns "
                "where table_schema = :schema and table_name = 'customer_scores'"
            ),
            {"schema": settings.analytics_schema},
        ).scalars()
        assert {"top_reasons", "profile_state_source", "config_version"} <= set(columns)
    migrations.require_head(empty_database, settings.analytics_schema)  # a run would accept it

    sent = _statements_of(empty_database)
    assert operations.init_db(empty_database, settings) == (head, head)
    ddl = [s for s in sent if re.match(r"\s*(create|alter|drop|grant|revoke)\b", s, re.IGNORECASE)]
    # Only the source contract's if-not-exists statements (unchanged behaviour); no analytics DDL.
    assert ddl == source_ddl(settings.source_schema)


def test_init_db_upgrades_a_deployment_made_before_migrations(empty_database, settings) -> None:
    """Tables from before versioned migrations (no version table, older columns) reach head."""
    schema = settings.analytics_schema
    with empty_database.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
        connection.execute(
            text(f"create table {schema}.customer_scores (as_of_date date, tenant_id text, customer_id text)")
        )
        connection.execute(text(f"insert into {schema}.customer_scores values ('2026-03-15', 'acme', 'c1')"))
    assert operations.init_db(empty_database, settings) == (None, migrations.head_revision())
    with empty_database.connect() as connection:
        row = connection.execute(
            text(f"select customer_id, top_reasons, config_version from {schema}.customer_scores")
        ).one()
    assert tuple(row) == ("c1", "", "unversioned")  # kept, and labelled by the new columns' defaults


def test_a_run_refuses_a_schema_behind_the_code_in_one_line(
    instance, engine, settings, load_sources, tmp_path
) -> None:
    schema, head = settings.analytics_schema, migrations.head_revision()
    load_sources(dataset.SOURCES)
    migrations.stamp(engine, schema, "base")  # as if the code were newer than the last init-db
    try:
        assert not _score(instance, engine, settings, tmp_path / "run.log")
        expected = (
            f"analytics schema {schema!r} is at revision none, the code needs {head}: run crm-scoring init-db"
        )
        descriptions = {
            record.event_log_entry.dagster_event.step_failure_data.user_failure_data.description
            for record in instance.get_records_for_run(instance.get_runs()[0].run_id).records
            if record.event_log_entry.dagster_event and record.event_log_entry.dagster_event.is_step_failure
        }
        assert descriptions == {expected}
    finally:
        # init-db re-applies the baseline over the existing tables: the upgrade path, again.
        assert operations.init_db(engine, settings) == (None, head)
    migrations.require_head(engine, schema)


def test_a_schema_newer_than_the_code_is_refused_too(engine, settings) -> None:
    schema = settings.analytics_schema
    with engine.begin() as connection:
        version_table = f"{schema}.{migrations.VERSION_TABLE}"
        connection.execute(text(f"update {version_table} set version_num = '9999_future'"))
    try:
        with pytest.raises(migrations.SchemaOutdated, match="at revision 9999_future, newer than this code"):
            migrations.require_head(engine, schema)
    finally:
        migrations.stamp(engine, schema, migrations.head_revision())
