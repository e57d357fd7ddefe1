"""DDL for the source contract (``crm-scoring init-db``, the synthetic generator).

The analytics tables the graph writes are versioned migrations (``warehouse/migrations``),
applied by ``init-db`` too; runs never execute DDL.
Schema names come from validated settings (plain identifiers), never from user data.
Every statement is idempotent so ``init-db`` can run it any number of times.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

# Serialises concurrent DDL (two init-db, init-db and the generator): CREATE ... IF NOT EXISTS
# is not race-free, and two migrators must not both apply a revision.
_DDL_LOCK_KEY = 7_400_117


_EVENT_TIME_COLUMNS = (
    ("activities", "occurred_at"),
    ("campaign_interactions", "occurred_at"),
    ("customer_notes", "created_at"),
)


def source_ddl(schema: str) -> list[str]:
    return [
        f"create schema if not exists {schema}",
        f"""create table if not exists {schema}.customer_profiles (
            id text primary key,
            tenant_id text not null,
            status text not null,
            deleted_at timestamptz,
            lifetime_value numeric,
            email_opt_in boolean,
            sms_opt_in boolean,
            push_opt_in boolean,
            whatsapp_opt_in boolean,
            last_email_open_at timestamptz,
            -- written back by the optional profile_writeback asset (CRM_SCORING_WRITEBACK=1)
            engagement_score integer,
            engagement_score_at timestamptz,
            churn_risk_score integer,
            churn_risk_score_at timestamptz,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        )""",
        f"""create table if not exists {schema}.activities (
            id text primary key,
            tenant_id text,
            customer_id text,
            type text,
            occurred_at timestamptz,
            metadata jsonb
        )""",
        f"""create table if not exists {schema}.campaign_interactions (
            id text primary key,
            tenant_id text,
            customer_id text,
            campaign_id text,
            type text,
            occurred_at timestamptz
        )""",
        f"""create table if not exists {schema}.customer_notes (
            id text primary key,
            tenant_id text,
            customer_id text,
            type text,
            created_at timestamptz,
            body text
        )""",
        # The feature models look events up per customer inside a time window.
        f"""create index if not exists customer_profiles_tenant_idx
            on {schema}.customer_profiles (tenant_id)""",
        f"""create index if not exists activities_customer_time_idx
            on {schema}.activities (customer_id, occurred_at)""",
        f"""create index if not exists campaign_interactions_customer_time_idx
            on {schema}.campaign_interactions (customer_id, occurred_at)""",
        f"""create index if not exists customer_notes_customer_time_idx
            on {schema}.customer_notes (customer_id, created_at)""",
        f"""create index if not exists activities_tier_change_time_idx
            on {schema}.activities (occurred_at) where type = 'TIER_CHANGED'""",
        # The behaviour features' payment history reaches back a year: it reads only payments.
        f"""create index if not exists activities_payment_time_idx
            on {schema}.activities (occurred_at) where type in ('PAYMENT_FAILED', 'PAYMENT_RECEIVED')""",
        # Data-quality checks read one day of events, and rows that have no time at all.
        *(
            statement
            for table, column in _EVENT_TIME_COLUMNS
            for statement in (
                f"create index if not exists {table}_time_idx on {schema}.{table} ({column})",
                f"""create index if not exists {table}_null_time_idx on {schema}.{table} (customer_id)
                    where {column} is null""",
            )
        ),
    ]


def secondary_indexes(statements: list[str]) -> list[str]:
    """The names of the indexes a DDL list creates (primary keys are not among them)."""
    return re.findall(r"create index if not exists (\w+)", "\n".join(statements))


def relation_exists(engine: Engine, qualified_name: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(text("select to_regclass(:name)"), {"name": qualified_name}).scalar()
    return found is not None


def column_names(connection: Connection, schema: str, table: str) -> set[str]:
    """The columns ``schema.table`` has (none when it does not exist)."""
    return set(
        connection.execute(
            text(
                "select column_name from information_schema.columns "
                "where table_schema = :schema and table_name = :table"
            ),
            {"schema": schema, "table": table},
        ).scalars()
    )


def apply_ddl(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as connection:
        lock_ddl(connection)
        for statement in statements:
            connection.execute(text(statement))


def lock_ddl(connection: Connection) -> None:
    connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
