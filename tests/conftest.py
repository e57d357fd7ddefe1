"""Fixtures: a real PostgreSQL (embedded, or CRM_SCORING_TEST_DATABASE_URL), a Dagster instance
stored in it, a loader for the source tables, and copies of the databases (PostgreSQL template
databases) that a test restores instead of re-running the pipeline: see docs/testing.md.

Schemas are test-only so a developer's own data in the same server is never touched.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

# Settings are read when crm_scoring.defs is imported, so they are fixed before any test module
# imports it.
os.environ["CRM_SCORING_SOURCE_SCHEMA"] = "crm_test"
os.environ["CRM_SCORING_ANALYTICS_SCHEMA"] = "analytics_test"
os.environ["CRM_SCORING_PARTITIONS_START"] = "2025-01-01"
os.environ["CRM_SCORING_TIMEZONE"] = "UTC"
from crm_scoring.environment import PROCESS_DEFAULTS

os.environ.update(PROCESS_DEFAULTS)  # what every command sets: the runs here are the commands' runs
# Under pytest-xdist each worker (gw0, gw1...) has its own server and databases, so its own dbt
# parse, in target/gw0...: in one target directory the workers' parses, made for different
# databases, would replace each other (every run's dbt would then parse the whole project) or
# collide mid-write. Not distributed, dbt's default target/.
os.environ["DBT_TARGET_PATH"] = os.path.join(
    os.environ.get("DBT_TARGET_PATH", "target"), os.environ.get("PYTEST_XDIST_WORKER", "")
)

import dagster as dg
import psycopg2
from psycopg2 import sql
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from crm_scoring.app.operations import RunOutcome
from crm_scoring.settings import Settings, load_settings
from crm_scoring.warehouse.urls import sqlalchemy_url, with_database

# The databases as init-db leaves them, and with tests/integration/dataset.py scored.
MIGRATED = "migrated"
SCORED_DAY = "scored_day"

# The files that take longest (about 10 s or more in a sequential run), longest first. The
# workers take whole files (--dist loadfile, pyproject.toml) from one queue in collection order:
# started first, the long ones never leave one worker busy alone at the end. Order only: a file
# missing here still runs, after these.
_LONGEST_FILES = tuple(
    f"tests/integration/test_{name}.py"
    for name in (
        "crash_safety", "cli", "failure_isolation", "point_in_time", "backtest", "bad_input", "writeback",
        "scoring_graph", "run_queue", "scoring_config", "alert_lifecycle", "reader_access", "bi_marts",
        "behaviour_features", "trends", "migrations", "churn_model_asset", "tenant_batches", "model_alerts",
    )
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Distributed, the longest files first; each file's tests keep their order (sort is stable)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {path: position for position, path in enumerate(_LONGEST_FILES)}
        items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin URL of the server the tests use."""
    given = os.environ.get("CRM_SCORING_TEST_DATABASE_URL")
    if given:
        yield sqlalchemy_url(given)
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    yield sqlalchemy_url(server.get_uri())
    server.cleanup()


@contextlib.contextmanager
def _admin(server_url: str) -> Iterator[psycopg2.extensions.cursor]:
    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _fresh_database(server_url: str, name: str) -> str:
    with _admin(server_url) as cursor:
        cursor.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """The warehouse database, exported the way the CLI exports it for Dagster resources."""
    url = _fresh_database(server_url, f"crm_scoring_test_{uuid.uuid4().hex[:8]}")
    os.environ["CRM_SCORING_DATABASE_URL"] = url
    _parse_dbt_project_for(url)
    return url


def _parse_dbt_project_for(database_url: str) -> None:
    """Parsed once for the test database, so every run's dbt parses partially."""
    from crm_scoring.defs.dbt_project import dbt_project
    from crm_scoring.warehouse.dbt_manifest import ensure_manifest
    from crm_scoring.warehouse.urls import dbt_connection_env

    ensure_manifest(dbt_project, dbt_connection_env(database_url))


class DatabaseCopies:
    """Named copies of the test databases, kept as template databases on the same server.

    Restoring one replaces the warehouse (and the Dagster storage, when it was saved with it)
    by a copy made with CREATE DATABASE ... TEMPLATE: a file copy, a fraction of a second for
    these databases, where re-running the pipeline to the same state takes a dbt build."""

    def __init__(self, server_url: str, engine: Engine) -> None:
        self._server_url = server_url
        self._engine = engine
        self._saved: dict[str, list[str]] = {}

    def save(self, name: str, urls: Sequence[str]) -> None:
        databases = [make_url(url).database for url in urls]
        self._engine.dispose()  # a template database must have no connections
        with _admin(self._server_url) as cursor:
            for database in databases:
                _copy_database(cursor, database, f"{database}__{name}")
        self._saved[name] = databases
        _reconnect_instances()

    def restore(self, name: str) -> None:
        self._engine.dispose()  # the session's engine reconnects to the restored database
        with _admin(self._server_url) as cursor:
            for database in self._saved[name]:
                _copy_database(cursor, f"{database}__{name}", database)
        _reconnect_instances()

    def drop_all(self) -> None:
        with _admin(self._server_url) as cursor:
            for name, databases in self._saved.items():
                for database in databases:
                    drop = sql.SQL("drop database if exists {} with (force)")
                    cursor.execute(drop.format(sql.Identifier(f"{database}__{name}")))


def _copy_database(cursor: psycopg2.extensions.cursor, source: str, target: str) -> None:
    """Replaces ``target`` by a copy of ``source``. CREATE DATABASE refuses a template with open
    connections, so the source's sessions (pooled, of earlier runs) are ended first."""
    cursor.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(target)))
    create = sql.SQL("create database {} template {}").format(sql.Identifier(target), sql.Identifier(source))
    for _ in range(100):
        cursor.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where datname = %s and pid <> pg_backend_pid()",
            (source,),
        )
        try:
            cursor.execute(create)
            return
        except psycopg2.errors.ObjectInUse:  # a terminated session not gone yet
            time.sleep(0.05)
    cursor.execute(create)


@pytest.fixture(scope="session")
def _databases(
    server_url: str, database_url: str, settings: Settings
) -> Iterator[tuple[Engine, DatabaseCopies]]:
    from crm_scoring.app.operations import init_db

    engine = create_engine(database_url)
    init_db(engine, settings)
    copies = DatabaseCopies(server_url, engine)
    copies.save(MIGRATED, [database_url])
    yield engine, copies
    engine.dispose()
    copies.drop_all()


@pytest.fixture(scope="session")
def engine(_databases: tuple[Engine, DatabaseCopies]) -> Engine:
    return _databases[0]


@pytest.fixture(scope="session")
def database_copies(_databases: tuple[Engine, DatabaseCopies]) -> DatabaseCopies:
    """Copies of this session's databases; the warehouse as init-db leaves it is saved as MIGRATED."""
    return _databases[1]


@pytest.fixture(scope="session")
def dagster_storage_url(server_url: str) -> str:
    return _fresh_database(server_url, f"dagster_test_{uuid.uuid4().hex[:8]}")


# The open instances, whose pooled storage connections a database copy ends (it must end every
# session of the database it copies or replaces).
_OPEN_INSTANCES: weakref.WeakSet[dg.DagsterInstance] = weakref.WeakSet()


def _pool_connections(instance: dg.DagsterInstance) -> None:
    """As the CLI does (operations.dagster_instance): connections held, not one per query."""
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)


def _reconnect_instances() -> None:
    for instance in list(_OPEN_INSTANCES):
        _pool_connections(instance)


@contextlib.contextmanager
def _empty_instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    overrides = {"storage": {"postgres": {"postgres_url": dagster_storage_url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        _pool_connections(instance)
        _OPEN_INSTANCES.add(instance)
        instance.wipe()
        for tenant in instance.get_dynamic_partitions("tenants"):
            instance.delete_dynamic_partition("tenants", tenant)
        yield instance


@pytest.fixture
def instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    """A persistent Dagster instance stored in PostgreSQL, as in production, empty per test."""
    with _empty_instance(dagster_storage_url) as instance:
        yield instance


@pytest.fixture(scope="module")
def module_instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    """The same, shared by the tests of one module: a module whose tests read one scored day
    scores it once (its fixture and `instance` module-scoped) instead of once per test. Its
    tests run in file order; one that changes the data leaves it as it found it, or comes last."""
    with _empty_instance(dagster_storage_url) as instance:
        yield instance


@dataclass(frozen=True)
class SavedState:
    """A state of both databases that tests restore instead of building it again."""

    name: str
    outcomes: list[RunOutcome]  # of the runs that made it
    copies: DatabaseCopies

    def restore(self) -> list[RunOutcome]:
        """Replaces the warehouse and the Dagster storage by the saved copy; returns the outcomes.
        An instance open on the storage sees the copy: it reconnects for every query."""
        self.copies.restore(self.name)
        return self.outcomes


@contextlib.contextmanager
def _documented_defaults() -> Iterator[None]:
    """Unsets the optional CRM_SCORING_* variables (a scoring config, writeback, a webhook...)
    while a shared state is built, so it holds what the documented defaults give."""
    kept = {"CRM_SCORING_SOURCE_SCHEMA", "CRM_SCORING_ANALYTICS_SCHEMA", "CRM_SCORING_PARTITIONS_START",
            "CRM_SCORING_TIMEZONE", "CRM_SCORING_DATABASE_URL"}  # fmt: skip
    unset = {name: value for name, value in os.environ.items() if name.startswith("CRM_SCORING_")}
    unset = {name: value for name, value in unset.items() if name not in kept}
    for name in unset:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(unset)


@pytest.fixture(scope="session")
def scored_day_state(
    database_copies: DatabaseCopies,
    database_url: str,
    dagster_storage_url: str,
    engine: Engine,
    settings: Settings,
    load_sources,
    tmp_path_factory: pytest.TempPathFactory,
) -> SavedState:
    """tests/integration/dataset.py's SOURCES scored for its DAY by one run of every registered
    tenant (acme, globex), on fresh databases, with the default settings: built once per session,
    at the first test that asks for it."""
    from crm_scoring.app import operations
    from tests.integration import dataset

    database_copies.restore(MIGRATED)
    log = tmp_path_factory.mktemp("scored_day") / "run.log"
    with _documented_defaults(), _empty_instance(dagster_storage_url) as instance:
        load_sources(dataset.SOURCES)
        registered = operations.sync_tenants(instance, engine, settings)
        outcomes = operations.score_day(instance, dataset.DAY, registered, None, log)
        assert all(outcome.success for outcome in outcomes), log.read_text()[-3000:]
    database_copies.save(SCORED_DAY, [database_url, dagster_storage_url])
    return SavedState(SCORED_DAY, outcomes, database_copies)


@pytest.fixture
def scored_day(scored_day_state: SavedState, instance: dg.DagsterInstance) -> list[RunOutcome]:
    """The scored day restored for this test (both databases): what `load_sources(dataset.SOURCES)`
    and `operations.score_day` of dataset.DAY on a new instance leave, without the run. Returns
    the run's outcomes. Ask for it before fixtures that change the databases (it replaces them)."""
    return scored_day_state.restore()


@pytest.fixture(scope="session")
def load_sources(engine: Engine, settings: Settings):
    """Empties source and output tables, then loads the given rows per source table."""

    def load(tables: dict[str, list[dict]]) -> None:
        schema, out = settings.source_schema, settings.analytics_schema
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"truncate {schema}.customer_profiles, {schema}.activities, "
                    f"{schema}.campaign_interactions, {schema}.customer_notes, "
                    f"{out}.customer_scores, {out}.churn_alerts, {out}.engagement_distribution, "
                    f"{out}.churn_risk_overview, {out}.churn_backtest, {out}.churn_backtest_calibration, "
                    f"{out}.churn_predictions, {out}.churn_model_backtest, {out}.model_registry"
                )
            )
            # dbt builds these on a first run; the profile history would carry states across tests
            for dbt_table in (
                "customer_features",
                "customer_behaviour_features",
                "customer_activity_type_counts",
                "data_quality_issues",
                "profile_history",
            ):
                if connection.execute(text("select to_regclass(:t)"), {"t": f"{out}.{dbt_table}"}).scalar():
                    connection.execute(text(f"truncate {out}.{dbt_table}"))
            for table, rows in tables.items():
                if rows:
                    columns = list(rows[0])
                    connection.execute(
                        text(
                            f"insert into {schema}.{table} ({', '.join(columns)}) "
                            f"values ({', '.join(':' + c for c in columns)})"
                        ),
                        rows,
                    )

    return load


@pytest.fixture
def cli_database(instance, database_url, dagster_storage_url, settings, load_sources) -> dict[str, str]:
    """The test warehouse holding the hand-built dataset, and the (wiped) Dagster storage, as the
    CLI's environment: nothing scored yet."""
    from tests.integration import dataset

    load_sources(dataset.SOURCES)
    return {
        "CRM_SCORING_DATABASE_URL": database_url,
        "CRM_SCORING_DAGSTER_STORAGE_URL": dagster_storage_url,
        "CRM_SCORING_SOURCE_SCHEMA": settings.source_schema,
        "CRM_SCORING_ANALYTICS_SCHEMA": settings.analytics_schema,
        "CRM_SCORING_TIMEZONE": "UTC",
    }
