"""DDL for the source contract (``crm-scoring init-db``) and the tables the graph writes.

Schema names come from validated settings (plain identifiers), never from user data.
Every statement is idempotent so ``init-db`` and the assets can run it any number of times.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

# Serialises concurrent DDL from parallel runs: CREATE ... IF NOT EXISTS is not race-free.
_DDL_LOCK_KEY = 7_400_117
# customer_scores.config_version of rows scored before scoring configs were versioned.
UNVERSIONED = "unversioned"


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


def analytics_ddl(schema: str) -> list[str]:
    return [
        f"create schema if not exists {schema}",
        # Tenants whose ids cannot be partition keys are partitioned under a derived key.
        f"""create table if not exists {schema}.tenant_partition_keys (
            partition_key text primary key,
            tenant_id text not null unique
        )""",
        # Which (date, tenant) partitions one dbt invocation builds, written with bound
        # parameters so tenant ids never have to be spliced into dbt's SQL.
        f"""create table if not exists {schema}.scoring_scope (
            scope_id text not null,
            as_of_date date not null,
            tenant_id text not null,
            as_of timestamptz not null,
            since_1d timestamptz not null,
            since_30d timestamptz not null,
            since_90d timestamptz not null,
            since_180d timestamptz not null,
            created_at timestamptz not null default now(),
            primary key (scope_id, as_of_date, tenant_id)
        )""",
        f"alter table {schema}.scoring_scope add column if not exists since_1d timestamptz",
        f"""create table if not exists {schema}.customer_scores (
            as_of_date date not null,
            tenant_id text not null,
            customer_id text not null,
            status text not null,
            engagement_score smallint not null,
            churn_risk_score smallint not null,
            recency_score smallint not null,
            frequency_score smallint not null,
            monetary_score smallint not null,
            breadth_score smallint not null,
            depth_score smallint not null,
            activity_decline_risk smallint not null,
            payment_risk smallint not null,
            engagement_drop_risk smallint not null,
            tier_downgrade_risk smallint not null,
            complaint_risk smallint not null,
            top_reasons text not null default '',
            as_of timestamptz not null,
            scored_at timestamptz not null,
            run_id text not null,
            config_version text not null default '{UNVERSIONED}',
            primary key (as_of_date, tenant_id, customer_id)
        )""",
        f"alter table {schema}.customer_scores add column if not exists top_reasons text not null default ''",
        # Where the row's profile fields came from (history | current | reconstructed, see
        # int_profiles_as_of); null on rows scored before profiles were read as of their day.
        f"alter table {schema}.customer_scores add column if not exists profile_state_source text",
        # The scoring config each row was scored with (see rules/config.py). The default only
        # labels rows written before the column existed (scored with the specification's
        # values, then hard-coded); the customer_scores asset always writes the label.
        f"""alter table {schema}.customer_scores
            add column if not exists config_version text not null default '{UNVERSIONED}'""",
        # Label -> the effective configuration it stands for, so history stays readable after
        # the file changes. Not a BI table: it holds every tenant's overrides.
        f"""create table if not exists {schema}.scoring_configs (
            config_version text primary key,
            config jsonb not null,
            source text not null,
            first_used_at timestamptz not null default now()
        )""",
        f"""create table if not exists {schema}.churn_alerts (
            alert_id text not null unique,
            as_of_date date not null,
            tenant_id text not null,
            customer_id text not null,
            churn_risk_score smallint not null,
            engagement_score smallint not null,
            raised_at timestamptz not null,
            run_id text not null,
            primary key (tenant_id, customer_id, as_of_date)
        )""",
        f"""create table if not exists {schema}.engagement_distribution (
            as_of_date date not null,
            tenant_id text not null,
            bucket_order smallint not null,
            label text not null,
            min_score smallint not null,
            max_score smallint not null,
            customer_count integer not null,
            primary key (as_of_date, tenant_id, label)
        )""",
        f"""create table if not exists {schema}.customer_score_trends (
            as_of_date date not null,
            tenant_id text not null,
            customer_id text not null,
            engagement_score smallint not null,
            churn_risk_score smallint not null,
            engagement_change_7d smallint,
            engagement_change_30d smallint,
            churn_risk_change_7d smallint,
            churn_risk_change_30d smallint,
            rising_risk boolean not null,
            primary key (as_of_date, tenant_id, customer_id)
        )""",
        f"""create table if not exists {schema}.tenant_daily_averages (
            as_of_date date not null,
            tenant_id text not null,
            customers integer not null,
            avg_engagement_score numeric(5, 2),
            avg_churn_risk_score numeric(5, 2),
            rising_risk_customers integer not null,
            primary key (as_of_date, tenant_id)
        )""",
        # Churn-alert episodes (open -> resolved) and the outbox that delivers new ones.
        f"""create table if not exists {schema}.alert_episodes (
            alert_id text primary key,
            tenant_id text not null,
            customer_id text not null,
            opened_on date not null,
            opened_score smallint not null,
            last_seen_on date not null,
            last_score smallint not null,
            resolved_on date
        )""",
        f"""create index if not exists alert_episodes_customer_idx
            on {schema}.alert_episodes (tenant_id, customer_id, opened_on desc)""",
        f"""create table if not exists {schema}.alert_outbox (
            idempotency_key text primary key,
            tenant_id text not null,
            payload jsonb not null,
            created_at timestamptz not null default now(),
            attempts integer not null default 0,
            next_attempt_at timestamptz not null default now(),
            delivered_at timestamptz,
            last_error text
        )""",
        # Bearer tokens of the analytics HTTP API: only hashes, one tenant each.
        f"""create table if not exists {schema}.api_tokens (
            token_hash text primary key,
            tenant_id text not null,
            created_at timestamptz not null default now(),
            revoked_at timestamptz
        )""",
        # One row per failed scoring run, written by the run-failure sensor for on-call.
        f"""create table if not exists {schema}.run_failures (
            run_id text primary key,
            failed_at timestamptz not null,
            partition_keys text[] not null,
            failed_steps text[] not null,
            error text not null,
            isolation_runs integer not null,
            webhook_status text not null
        )""",
        f"""create table if not exists {schema}.churn_risk_overview (
            as_of_date date not null,
            tenant_id text not null,
            critical integer not null,
            high integer not null,
            medium integer not null,
            low integer not null,
            total integer not null,
            primary key (as_of_date, tenant_id)
        )""",
        # Churn backtest: as_of_date is the day whose end closed the outcome window, the
        # partition that writes the row; evaluated_as_of_date = as_of_date - horizon_days.
        f"""create table if not exists {schema}.churn_backtest (
            as_of_date date not null,
            tenant_id text not null,
            evaluated_as_of_date date not null,
            horizon_days smallint not null,
            customers integer not null,
            churned integer not null,
            churn_rate double precision,
            auc double precision,
            alert_threshold smallint not null,
            alerted integer not null,
            precision_at_threshold double precision,
            recall_at_threshold double precision,
            top_decile_lift double precision,
            computed_at timestamptz not null,
            run_id text not null,
            primary key (as_of_date, tenant_id)
        )""",
        # Which figures of the row are undefined and why, in words (null: all defined).
        f"alter table {schema}.churn_backtest add column if not exists why_undefined text",
        f"""create table if not exists {schema}.churn_backtest_calibration (
            as_of_date date not null,
            tenant_id text not null,
            evaluated_as_of_date date not null,
            band_order smallint not null,
            band text not null,
            min_score smallint not null,
            max_score smallint not null,
            customers integer not null,
            churned integer not null,
            churn_rate double precision,
            mean_score double precision,
            primary key (as_of_date, tenant_id, band)
        )""",
    ]


def secondary_indexes(statements: list[str]) -> list[str]:
    """The names of the indexes a DDL list creates (primary keys are not among them)."""
    return re.findall(r"create index if not exists (\w+)", "\n".join(statements))


def relation_exists(engine: Engine, qualified_name: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(text("select to_regclass(:name)"), {"name": qualified_name}).scalar()
    return found is not None


def apply_ddl(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as connection:
        _lock(connection)
        for statement in statements:
            connection.execute(text(statement))


def _lock(connection: Connection) -> None:
    connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
