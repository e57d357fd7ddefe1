"""Issue 11, items 5 and 6: the out-of-time comparison of the specification's score with the
learned model (analytics.churn_model_backtest, a BI table: warehouse/access.py BI_TABLES), and
churn alerts raised by the model for the tenants that opt in (scoring config
churn.alert_source: model): where an alert came from, the probability and the reason in words.

Existing alerts were all the rule's: the default says so, and a rule alert keeps null in the
model's two columns.

Revision ID: 0006_model_alerts_backtest
Revises: 0005_profile_history_table
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

revision = "0006_model_alerts_backtest"
down_revision: str | None = "0005_profile_history_table"
branch_labels = None
depends_on = None

_ESTIMATED = ("auc", "pr_auc", "top_decile_lift", "recall_at_budget", "brier", "ece")


def upgrade() -> None:
    schema = migration_schema()
    op.execute(
        f"""alter table {schema}.churn_alerts
            add column if not exists alert_source text not null default 'rule'
                check (alert_source in ('rule', 'model')),
            add column if not exists churn_probability double precision
                check (churn_probability between 0 and 1),
            add column if not exists reason text"""
    )
    estimates = ",\n".join(
        f"{name}{suffix} double precision" for name in _ESTIMATED for suffix in ("", "_low", "_high")
    )
    op.execute(
        f"""create table if not exists {schema}.churn_model_backtest (
            as_of_date date not null,
            tenant_id text not null,
            evaluated_as_of_date date not null,
            scorer text not null check (scorer in ('rule', 'model')),
            model_version text not null,
            population text not null,
            customers integer not null,
            churned integer not null,
            alert_budget_percent double precision not null,
            {estimates},
            horizon_days integer not null,
            computed_at timestamptz not null,
            run_id text not null,
            primary key (as_of_date, tenant_id, scorer)
        )"""
    )


def downgrade() -> None:
    schema = migration_schema()
    op.execute(f"drop table if exists {schema}.churn_model_backtest")
    op.execute(
        f"""alter table {schema}.churn_alerts drop column if exists alert_source,
            drop column if exists churn_probability, drop column if exists reason"""
    )
