"""Fixtures: a real PostgreSQL (embedded, or CRM_SCORING_TEST_DATABASE_URL), a Dagster instance
stored in it, and a loader for the source tables.

Schemas are test-only so a developer's own data in the same server is never touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Settings are read when crm_scoring.defs is imported, so they are fixed before any test module
# imports it.
os.environ["CRM_SCORING_SOURCE_SCHEMA"] = "crm_test"
os.environ["CRM_SCORING_ANALYTICS_SCHEMA"] = "analytics_test"
os.environ["CRM_SCORING_PARTITIONS_START"] = "2025-01-01"
os.environ["CRM_SCORING_TIMEZONE"] = "UTC"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"

import dagster as dg
import psycopg2
from psycopg2 import sql
from sqlalchemy import Engine, create_engine, text

from crm_scoring.settings import Settings, load_settings
from crm_scoring.warehouse.urls import sqlalchemy_url, with_database


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


def _fresh_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    connection.close()
    return with_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """The warehouse database, exported the way the CLI exports it for Dagster resources."""
    url = _fresh_database(server_url, f"crm_scoring_test_{uuid.uuid4().hex[:8]}")
    os.environ["CRM_SCORING_DATABASE_URL"] = url
    return url


@pytest.fixture(scope="session")
def engine(database_url: str, settings: Settings) -> Iterator[Engine]:
    from crm_scoring.operations import init_db

    engine = create_engine(database_url)
    init_db(engine, settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def dagster_storage_url(server_url: str) -> str:
    return _fresh_database(server_url, f"dagster_test_{uuid.uuid4().hex[:8]}")


def _empty_instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    overrides = {"storage": {"postgres": {"postgres_url": dagster_storage_url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        instance.wipe()
        for tenant in instance.get_dynamic_partitions("tenants"):
            instance.delete_dynamic_partition("tenants", tenant)
        yield instance


@pytest.fixture
def instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    """A persistent Dagster instance stored in PostgreSQL, as in production, empty per test."""
    yield from _empty_instance(dagster_storage_url)


@pytest.fixture(scope="module")
def module_instance(dagster_storage_url: str) -> Iterator[dg.DagsterInstance]:
    """The same, shared by the tests of one module: a module whose tests read one scored day
    scores it once (its fixture and `instance` module-scoped) instead of once per test. Its
    tests run in file order; one that changes the data leaves it as it found it, or comes last."""
    yield from _empty_instance(dagster_storage_url)


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
                    f"{out}.churn_risk_overview, {out}.churn_backtest, {out}.churn_backtest_calibration"
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
