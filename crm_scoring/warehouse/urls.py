"""Database URLs: one user-facing URL, turned into what SQLAlchemy, psycopg2 and dbt each need."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url


def sqlalchemy_url(url: str) -> str:
    """Pin the psycopg2 driver: with SQLAlchemy 2.1 a bare ``postgresql://`` selects psycopg 3."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"expected a PostgreSQL URL, got the {parsed.get_backend_name()!r} backend")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def warehouse_engine(url: str) -> Engine:
    """An engine on the warehouse at ``url`` (psycopg2, connections checked before use)."""
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def describe(url: str) -> str:
    """Where a URL points, for error messages: never includes the password."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.username or ''}@{host}{port}/{parsed.database or ''}"


def dbt_connection_env(url: str) -> dict[str, str]:
    """The variables ``dbt_project/profiles.yml`` reads to reach the same database."""
    parsed: URL = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    return {
        "CRM_SCORING_DBT_HOST": str(host),
        "CRM_SCORING_DBT_PORT": str(parsed.port or 5432),
        "CRM_SCORING_DBT_USER": parsed.username or "postgres",
        "CRM_SCORING_DBT_PASSWORD": parsed.password or "",
        "CRM_SCORING_DBT_DBNAME": parsed.database or "postgres",
    }
