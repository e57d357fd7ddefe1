"""Partitions read in chunks and replaced chunk by chunk: what a step does with a tenant too big
to hold at once (CRM_SCORING_BATCH_CUSTOMERS). The chunks add up to the partition, and a write
that fails half-way leaves the old partition whole."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import psycopg2
import pytest
from sqlalchemy import text

from crm_scoring.warehouse import writes
from crm_scoring.warehouse.reads import for_each_partition_chunk, read_customer_ranges, read_partition_rows
from crm_scoring.warehouse.writes import partition_writer
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture
def features(scored_day, engine, settings) -> str:
    return f"{settings.analytics_schema}.customer_features"


@pytest.fixture
def scratch(scored_day, engine, settings):
    """A copy of the day's customer_scores to write into."""
    table = f"{settings.analytics_schema}.chunk_scratch"
    with engine.begin() as connection:
        connection.execute(text(f"drop table if exists {table}"))
        connection.execute(
            text(f"create table {table} as select * from {settings.analytics_schema}.customer_scores")
        )
    yield table
    with engine.begin() as connection:
        connection.execute(text(f"drop table {table}"))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["tenant_id", "customer_id"], ignore_index=True)


def test_chunks_of_two_add_up_to_the_partition(engine, features) -> None:
    whole = read_partition_rows(engine, features, dataset.DAY, ["acme", "globex"])
    # acme has 6 customers and globex 1 (dataset.py): 7 rows, so chunks of 2, 2, 2 and 1.
    assert len(whole) == 7
    chunks: list[pd.DataFrame] = []
    for_each_partition_chunk(engine, features, dataset.DAY, ["acme", "globex"], chunks.append, chunk_rows=2)
    assert [len(chunk) for chunk in chunks] == [2, 2, 2, 1]
    pd.testing.assert_frame_equal(_sorted(pd.concat(chunks)), _sorted(whole), check_dtype=False)


def test_chunks_in_key_order_are_read_back_by_their_key_ranges(engine, features) -> None:
    """What score_trends does with each chunk: its customers' rows of another day, read as the
    range between the chunk's first and last customer of each tenant."""
    chunks: list[pd.DataFrame] = []
    keys = ["tenant_id", "customer_id"]
    for_each_partition_chunk(
        engine, features, dataset.DAY, ["acme", "globex"], chunks.append, keys, chunk_rows=2, order_by=keys
    )
    in_order = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(in_order, in_order.sort_values(keys, ignore_index=True))
    for chunk in chunks:
        ends = chunk.groupby("tenant_id", sort=False)["customer_id"].agg(["first", "last"])
        ranges = list(ends.itertuples(name=None))
        rows = read_customer_ranges(engine, features, [dataset.DAY], ranges, keys)
        # consecutive customers in key order: the ranges hold exactly the chunk's, no other
        assert sorted(rows[keys].itertuples(index=False)) == sorted(chunk[keys].itertuples(index=False))
        assert set(rows["as_of_date"]) == {dataset.DAY}
    before = read_customer_ranges(
        engine, features, [dataset.DAY - timedelta(days=7)], [("acme", "a", "z")], keys
    )
    assert before.empty and list(before.columns) == ["as_of_date", *keys]


def test_a_partition_without_rows_is_handed_on_once_empty_with_its_columns(engine, features) -> None:
    chunks: list[pd.DataFrame] = []
    columns = ["tenant_id", "customer_id", "activity_count_30d"]
    for_each_partition_chunk(engine, features, dataset.DAY, ["nobody"], chunks.append, columns, chunk_rows=2)
    assert len(chunks) == 1
    assert chunks[0].empty and list(chunks[0].columns) == columns


def test_a_write_failing_after_its_first_chunk_leaves_the_old_partition_whole(engine, scratch) -> None:
    before = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    assert len(before) == 6
    replacement = before.assign(engagement_score=0)
    with (
        pytest.raises(RuntimeError, match="half-way"),
        partition_writer(engine, scratch, dataset.DAY, ["acme"]) as write,
    ):
        write(replacement.iloc[:3])
        raise RuntimeError("failed half-way")
    after = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    pd.testing.assert_frame_equal(_sorted(after), _sorted(before))


def test_a_write_in_chunks_replaces_the_partition_once(engine, scratch) -> None:
    before = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    replacement = before.assign(engagement_score=7)
    with partition_writer(engine, scratch, dataset.DAY, ["acme"]) as write:
        for first in range(0, len(replacement), 4):
            write(replacement.iloc[first : first + 4])
    after = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    assert len(after) == 6 and set(after["engagement_score"]) == {7}
    globex = read_partition_rows(engine, scratch, dataset.DAY, ["globex"])
    assert len(globex) == 1 and set(globex["engagement_score"]) != {7}  # another tenant untouched


def test_a_frame_is_copied_in_slices_that_add_up_to_it(engine, scratch, monkeypatch) -> None:
    """Each slice is COPYed in a thread while the next is formatted (writes.overlapped_copy)."""
    monkeypatch.setattr(writes, "COPY_SLICE_ROWS", 2)
    before = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    replacement = before.assign(engagement_score=range(6))  # three slices of two
    with partition_writer(engine, scratch, dataset.DAY, ["acme"]) as write:
        write(replacement)
    after = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    assert sorted(after["engagement_score"]) == [0, 1, 2, 3, 4, 5]


def test_a_slice_failing_in_the_copy_thread_fails_the_write_and_keeps_the_old_partition(
    engine, scratch, monkeypatch
) -> None:
    monkeypatch.setattr(writes, "COPY_SLICE_ROWS", 2)
    before = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    replacement = before.assign(engagement_score=["0", "1", "2", "not a number", "4", "5"])
    with (
        pytest.raises(psycopg2.DataError, match="not a number"),
        partition_writer(engine, scratch, dataset.DAY, ["acme"]) as write,
    ):
        write(replacement)
    after = read_partition_rows(engine, scratch, dataset.DAY, ["acme"])
    pd.testing.assert_frame_equal(_sorted(after), _sorted(before))
