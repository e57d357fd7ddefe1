"""The scope's 7- and 365-day window starts, for the behaviour features (issue 11).

Nullable: scoring_scope rows live only while a run builds them, and every run writes both.

Revision ID: 0002_scope_windows_7d_365d
Revises: 0001_baseline
"""

from __future__ import annotations

from alembic import op

from crm_scoring.warehouse.migrations import migration_schema

revision = "0002_scope_windows_7d_365d"
down_revision: str | None = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    for days in (7, 365):
        op.execute(f"alter table {schema}.scoring_scope add column if not exists since_{days}d timestamptz")


def downgrade() -> None:
    schema = migration_schema()
    for days in (7, 365):
        op.execute(f"alter table {schema}.scoring_scope drop column if exists since_{days}d")
