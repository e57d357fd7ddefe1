"""Baseline: the analytics tables as ``analytics_ddl`` created them before migrations (issue 12, B6).

Written to upgrade any earlier deployment too, whatever it already has: every statement is
``if not exists``, including the columns that older versions of the tables lacked.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

# customer_scores.config_version of rows scored before scoring configs were versioned.
UNVERSIONED = "unversioned"

revision = "0001_baseline"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in _statements(migration_schema()):
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reversible: restore a backup instead")


def _statements(schema: str) -> list[str]:
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
