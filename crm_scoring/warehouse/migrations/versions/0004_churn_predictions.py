"""The learned churn model's daily predictions (issue 11, item 4): per (as_of_date, tenant,
customer) a calibrated churn probability, its rank within the tenant, the model version that
made it and, for the top of each tenant's list, the three drivers in words. A BI table: the
reader's grants and row-level security come from warehouse/access.py (BI_TABLES).

Revision ID: 0004_churn_predictions
Revises: 0003_model_registry
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

revision = "0004_churn_predictions"
down_revision: str | None = "0003_model_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    op.execute(
        f"""create table if not exists {schema}.churn_predictions (
            as_of_date date not null,
            tenant_id text not null,
            customer_id text not null,
            churn_probability double precision not null
                check (churn_probability between 0 and 1),
            churn_rank integer not null check (churn_rank >= 1),
            model_version text not null,
            driver_1 text,
            driver_2 text,
            driver_3 text,
            predicted_at timestamptz not null,
            run_id text not null,
            primary key (as_of_date, tenant_id, customer_id),
            unique (as_of_date, tenant_id, churn_rank)
        )"""
    )


def downgrade() -> None:
    op.execute(f"drop table if exists {migration_schema()}.churn_predictions")
