"""The profile history becomes a table of the schema (it was created by dbt's snapshot on the first
run): the graph's profile_history asset captures into it with two SQL statements instead of a dbt
process (warehouse/profile_history.py). A database whose history dbt made keeps it as it is: the
columns are the same.

Revision ID: 0005_profile_history_table
Revises: 0004_churn_predictions
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

revision = "0005_profile_history_table"
down_revision: str | None = "0004_churn_predictions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    op.execute(
        f"""create table if not exists {schema}.profile_history (
            customer_id text,
            tenant_id text,
            status text,
            deleted_at timestamptz,
            lifetime_value numeric,
            email_opt_in boolean,
            sms_opt_in boolean,
            push_opt_in boolean,
            whatsapp_opt_in boolean,
            last_email_open_at timestamptz,
            created_at timestamptz,
            updated_at timestamptz,
            captured_at timestamptz,
            dbt_scd_id text,
            dbt_updated_at timestamptz,
            dbt_valid_from timestamptz,
            dbt_valid_to timestamptz
        )"""
    )
    for name, columns in (("tenant", "tenant_id"), ("customer", "customer_id")):
        op.execute(
            f"create index if not exists profile_history_{name}_idx "
            f"on {schema}.profile_history ({columns}, dbt_valid_from)"
        )
    # The capture looks up each profile's version in force: one per customer at most.
    op.execute(
        f"""create index if not exists profile_history_current_idx
            on {schema}.profile_history (customer_id) where dbt_valid_to is null"""
    )


def downgrade() -> None:
    op.execute(f"drop index if exists {migration_schema()}.profile_history_current_idx")
