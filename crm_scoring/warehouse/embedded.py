"""The embedded default: a PostgreSQL server started from the ``pgserver`` wheel.

It listens on a Unix socket inside the project's state directory only, so it never
conflicts with another server and is unreachable from the network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from crm_scoring.warehouse.urls import sqlalchemy_url, with_database

WAREHOUSE_DATABASE = "crm_scoring"
DAGSTER_DATABASE = "dagster"

# pgserver stops the server when the last process holding a handle exits; keep ours alive.
_handles: dict[Path, object] = {}


@dataclass(frozen=True)
class EmbeddedPostgres:
    warehouse_url: str
    dagster_url: str


def start_embedded(home: Path) -> EmbeddedPostgres:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses a /tmp path.
        warnings.simplefilter("ignore")
        import pgserver  # deferred: only the embedded default needs it

    pgdata = (home / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _handles.get(pgdata) or pgserver.get_server(pgdata, cleanup_mode="stop")
    _handles[pgdata] = server
    admin_url = sqlalchemy_url(server.get_uri())
    _ensure_databases(server.get_uri(), (WAREHOUSE_DATABASE, DAGSTER_DATABASE))
    return EmbeddedPostgres(
        warehouse_url=with_database(admin_url, WAREHOUSE_DATABASE),
        dagster_url=with_database(admin_url, DAGSTER_DATABASE),
    )


def _ensure_databases(admin_uri: str, names: tuple[str, ...]) -> None:
    connection = psycopg2.connect(admin_uri)
    connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute("select 1 from pg_database where datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    finally:
        connection.close()
