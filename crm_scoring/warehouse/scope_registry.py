"""The scoring_scope registry (analytics.scoring_scope): the (day, tenant) partitions a dbt
build must cover, written under a scope id the dbt models read (CRM_SCORING_SCOPE_ID), with the
as-of instant and window starts of each day."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine, text

from crm_scoring.scope import WINDOW_DAYS, DayScope


@contextmanager
def registered_scope(
    engine: Engine, scope_table: str, scope_id: str, scopes: Sequence[DayScope]
) -> Iterator[str]:
    """Writes the partitions dbt must build under ``scope_id``; removes them afterwards.

    Called under the dbt-build lock (one build at a time), so rows already there belong to a
    run that died mid-build (kill -9 skips the removal): they are removed first."""
    rows = [
        {
            "scope_id": scope_id,
            "as_of_date": scope.as_of_date,
            "tenant_id": tenant_id,
            "as_of": scope.as_of,
            **{f"since_{days}d": scope.since(days) for days in WINDOW_DAYS},
        }
        for scope in scopes
        for tenant_id in scope.tenant_ids
    ]
    with engine.begin() as connection:
        connection.execute(text(f"delete from {scope_table}"))
        columns = list(rows[0])
        connection.execute(
            text(
                f"insert into {scope_table} ({', '.join(columns)}) "
                f"values ({', '.join(':' + column for column in columns)})"
            ),
            rows,
        )
        # Fresh statistics: planned on the stale ones, a month of days x tenants looked like
        # one row, and the features query nested-looped over its aggregates (60 s, not 0.3 s).
        connection.execute(text(f"analyze {scope_table}"))
    try:
        yield scope_id
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(f"delete from {scope_table} where scope_id = :scope_id"),
                {"scope_id": scope_id},
            )
