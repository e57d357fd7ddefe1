"""Atomic partition replacement: delete a partition's rows and COPY the new ones in one transaction.

Readers see either the old complete partition or the new one; a crash mid-write rolls back.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Connection, Engine, text

_NULL = r"\N"


def replace_partition_rows(
    engine: Engine,
    table: str,
    as_of_date: date,
    tenant_ids: Sequence[str],
    rows: pd.DataFrame,
) -> int:
    """Replaces the rows of ``table`` for (as_of_date, tenant_ids) with ``rows``.

    ``table`` is a schema-qualified name built from validated settings; tenant ids and the
    date are bound parameters.
    """
    with partition_writer(engine, table, as_of_date, tenant_ids) as write:
        write(rows)
    return len(rows)


@contextmanager
def partition_writer(
    engine: Engine, table: str, as_of_date: date, tenant_ids: Sequence[str]
) -> Iterator[Callable[[pd.DataFrame], None]]:
    """One transaction that replaces the (as_of_date, tenant_ids) partitions of ``table``:
    their rows are deleted, then each frame given to the writer is COPYed in, chunk after chunk;
    all become visible at once when the block ends, and none if it raises."""
    with engine.begin() as connection:
        lock_partitions(connection, table, as_of_date, tenant_ids)
        connection.execute(
            text(f"delete from {table} where as_of_date = :as_of_date and tenant_id = any(:tenants)"),
            {"as_of_date": as_of_date, "tenants": list(tenant_ids)},
        )
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor, overlapped_copy(cursor, table) as send:

            def write(rows: pd.DataFrame) -> None:
                if not rows.empty:
                    send(rows)

            yield write


# Rows per COPY of overlapped_copy: small enough that formatting a frame's next slice overlaps
# the server's COPY of the one before, whatever the frame's size.
COPY_SLICE_ROWS = 20_000
# Characters psycopg2 reads per call from a COPY's source (its default is 8 KiB): each read
# takes the GIL, which a thread formatting the next slice holds for up to 5 ms at a time.
_COPY_READ_CHARS = 1 << 22


@contextmanager
def overlapped_copy(cursor, table: str) -> Iterator[Callable[[pd.DataFrame], Future | None]]:
    """``send(frame)`` formats the frame here, a slice of COPY_SLICE_ROWS at a time, and COPYs
    each slice into ``table`` in a thread while the caller formats the next or goes on: the
    server parses and indexes one slice while the client prepares the next, on two cores.
    One slice in flight at most; a failed COPY raises at the next slice or when the block ends,
    and on the way out the slice in flight ends first (no rollback under a running COPY).
    ``send`` returns the future of the frame's last slice (None for an empty frame)."""
    with ThreadPoolExecutor(max_workers=1) as sender:
        sending: Future | None = None

        def send(frame: pd.DataFrame) -> Future | None:
            nonlocal sending
            last = None
            for start in range(0, len(frame), COPY_SLICE_ROWS):
                rows = frame_csv(frame.iloc[start : start + COPY_SLICE_ROWS])
                if sending is not None:
                    sending.result()
                sending = last = sender.submit(copy_csv, cursor, table, rows)
            return last

        yield send
        if sending is not None:
            sending.result()


def as_arrays(rows: Sequence[Mapping], **names: str) -> dict[str, list]:
    """{parameter: [each row's value of its key]}: rows as one bound array per column, for one
    statement that unnests them instead of one round trip per row."""
    return {parameter: [row[key] for row in rows] for parameter, key in names.items()}


def lock_partitions(connection: Connection, table: str, as_of_date: date, tenant_ids: Sequence[str]) -> None:
    """Serialises writers of the same (table, day, tenant) until the transaction ends.

    Two runs of one partition at once (the schedule and a manual rerun) then replace the rows
    one after the other instead of both inserting: no duplicate rows, no unique violation.
    Locks are taken in sorted order so two multi-tenant writers cannot deadlock.
    """
    connection.execute(
        text(
            "select pg_advisory_xact_lock(hashtextextended(:table || '|' || :day || '|' || tenant, 0)) "
            "from (select tenant from unnest(cast(:tenants as text[])) as tenant order by tenant) as t"
        ),
        {"table": table, "day": as_of_date.isoformat(), "tenants": sorted(tenant_ids)},
    )


def copy_frame(cursor, table: str, rows: pd.DataFrame) -> None:
    """COPY a frame into ``table`` through a psycopg2 cursor (no commit: the caller owns it)."""
    copy_csv(cursor, table, frame_csv(rows))


@dataclass(frozen=True)
class CsvRows:
    """A frame formatted for COPY: its columns and its rows as CSV text."""

    columns: tuple[str, ...]
    text: io.StringIO
    count: int


def frame_csv(rows: pd.DataFrame) -> CsvRows:
    """The frame as COPY reads it; apart from copy_csv so a loader can format the next chunk
    while the server parses this one."""
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, header=False, na_rep=_NULL)
    buffer.seek(0)
    return CsvRows(tuple(rows.columns), buffer, len(rows))


def copy_csv(cursor, table: str, rows: CsvRows) -> None:
    """COPY formatted rows into ``table`` through a psycopg2 cursor (no commit)."""
    columns = ", ".join(f'"{column}"' for column in rows.columns)
    cursor.copy_expert(
        f"copy {table} ({columns}) from stdin with (format csv, null '{_NULL}')", rows.text, _COPY_READ_CHARS
    )


def record_config_versions(engine: Engine, table: str, configs: Mapping[str, Mapping], source: str) -> None:
    """Remembers what each config_version label stands for ({label: effective config}); a
    label already recorded keeps its first row (same label, same values)."""
    if not configs:
        return
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {table} (config_version, config, source) "
                "values (:label, cast(:config as jsonb), :source) on conflict do nothing"
            ),
            [
                {"label": label, "config": json.dumps(config, sort_keys=True), "source": source}
                for label, config in configs.items()
            ],
        )
