"""Versioned migrations of the analytics schema (Alembic), applied only by ``crm-scoring init-db``.

Runs never change the schema: DDL such as ``ALTER TABLE`` takes ACCESS EXCLUSIVE, which waits
for every open reader transaction and makes every later reader wait behind it. A run only
checks, with a plain SELECT, that the schema is at the revision the code needs
(:func:`require_head`).

No alembic.ini: :func:`upgrade` drives Alembic programmatically, handing env.py the connection
and the analytics schema (a validated identifier from settings) through ``config.attributes``.
The version table lives in the analytics schema, so each deployment's schema has its own.

A later schema change is a new file in ``versions/``: a copy of the newest revision with a new
``revision`` and ``down_revision`` set to the newest's ``revision``. Never edit a released one:
deployments that already applied it would not see the change.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from crm_scoring.settings import sql_identifier
from crm_scoring.warehouse.schema import lock_ddl

VERSION_TABLE = "alembic_version"
_SCRIPT_LOCATION = Path(__file__).parent


class SchemaOutdated(Exception):
    """The analytics schema is not at the revision this code needs."""


def _config(connection: Connection | None = None, schema: str | None = None) -> Config:
    config = Config()
    # ConfigParser interpolates '%', which a checkout path may contain.
    config.set_main_option("script_location", str(_SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def head_revision() -> str:
    """The revision this code needs (the newest file in versions/)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migration in crm_scoring/warehouse/migrations/versions"
    return head


def migration_schema() -> str:
    """The analytics schema, for revision files (only valid while a migration runs)."""
    return sql_identifier(context.config.attributes["schema"], "CRM_SCORING_ANALYTICS_SCHEMA")


def current_revision(connection: Connection, schema: str) -> str | None:
    """The schema's revision, None if no migration was ever applied. Plain SELECTs: no DDL lock."""
    table = f"{schema}.{VERSION_TABLE}"
    if connection.execute(text("select to_regclass(:t)"), {"t": table}).scalar() is None:
        return None
    return connection.execute(text(f"select version_num from {table}")).scalar()


def upgrade(engine: Engine, schema: str) -> tuple[str | None, str]:
    """Brings the schema to the head revision; returns (revision before, head).

    Under the DDL advisory lock, so two init-db at once apply each migration once: the second
    waits, then finds the schema at head and changes nothing (not even CREATE SCHEMA).
    """
    head = head_revision()
    with engine.begin() as connection:
        lock_ddl(connection)
        before = current_revision(connection, schema)
        if before != head:
            # Alembic creates its version table before the first revision could create the schema.
            connection.execute(text(f"create schema if not exists {schema}"))
            # Inside this transaction (Alembic sees it is external and leaves it to us): every
            # pending revision and the version row commit together, or none does.
            command.upgrade(_config(connection, schema), "head")
    return before, head


def stamp(engine: Engine, schema: str, revision: str) -> None:
    """Records ``revision`` without running migrations (tests simulate an older schema with it)."""
    with engine.begin() as connection:
        lock_ddl(connection)
        command.stamp(_config(connection, schema), revision, purge=True)


def require_head(engine: Engine, schema: str) -> None:
    """Raises SchemaOutdated, in one actionable line, unless the schema is at the head revision."""
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection, schema)
    if current == head:
        return
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaOutdated(
            f"analytics schema {schema!r} is at revision {current}, newer than this code "
            f"(which needs {head}): deploy the code that migrated it"
        )
    raise SchemaOutdated(
        f"analytics schema {schema!r} is at revision {current or 'none'}, the code needs {head}: "
        "run crm-scoring init-db"
    )
