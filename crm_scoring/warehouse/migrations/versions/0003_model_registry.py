"""The churn-model registry (issue 11): every trained model, or the reason a tenant has none.

One row per model: a per-tenant model serves one tenant, the pooled model the tenants it was
chosen for, a "none" row records why a tenant has no model. The model is stored in safe forms
only: LightGBM's text model and JSON (calibration, baseline); nothing is unpickled on loading.
Not a BI table: no reader role is granted it.

Revision ID: 0003_model_registry
Revises: 0002_scope_windows_7d_365d
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

revision = "0003_model_registry"
down_revision: str | None = "0002_scope_windows_7d_365d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    op.execute(
        f"""create table if not exists {schema}.model_registry (
            model_version text primary key,
            training_run text not null,
            scope_kind text not null check (scope_kind in ('per_tenant', 'pooled', 'none')),
            tenant_ids text[] not null,
            trained_on_tenant_ids text[] not null,
            status text not null check (status in ('trained', 'no_model')),
            reasons jsonb not null,
            trained_at timestamptz not null,
            training_days date[] not null,
            validation_days date[] not null,
            horizon_days integer not null,
            features jsonb not null,
            parameters jsonb not null,
            metrics jsonb not null,
            model_text text,
            calibration jsonb,
            baseline jsonb,
            check ((status = 'trained') = (model_text is not null and calibration is not null))
        )"""
    )
    op.execute(
        f"create index if not exists model_registry_tenants on {schema}.model_registry using gin (tenant_ids)"
    )


def downgrade() -> None:
    op.execute(f"drop table if exists {migration_schema()}.model_registry")
