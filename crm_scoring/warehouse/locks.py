"""Named session-level advisory locks: work that must take turns across processes (dbt builds,
profile captures, view publishing) holds one for its duration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


@contextmanager
def advisory_lock(engine: Engine, name: str, log: Callable[[str], None]) -> Iterator[None]:
    """Holds the session-level advisory lock ``crm_scoring:<name>``, logging once when it must
    wait for another holder; released on exit, or by the server if the process dies."""
    key = {"name": f"crm_scoring:{name}"}
    with engine.connect() as connection:
        acquired = connection.execute(
            text("select pg_try_advisory_lock(hashtextextended(:name, 0))"), key
        ).scalar_one()
        if not acquired:
            log(f"Waiting for another run holding the {name!r} lock…")
            connection.execute(text("select pg_advisory_lock(hashtextextended(:name, 0))"), key)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("select pg_advisory_unlock(hashtextextended(:name, 0))"), key)
            connection.commit()
