"""Partitions shared by the dbt and Python assets: daily dates x tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
)

from crm_scoring.scope import DayScope, day_scopes, tenant_partition_key
from crm_scoring.settings import load_settings

_settings = load_settings()

DATE_DIMENSION = "date"
TENANT_DIMENSION = "tenant"

tenant_partitions = dg.DynamicPartitionsDefinition(name="tenants")
date_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.partitions_start, timezone=_settings.timezone
)
scoring_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: date_partitions, TENANT_DIMENSION: tenant_partitions}
)


def scoring_key(day: str, tenant_id: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DATE_DIMENSION: day, TENANT_DIMENSION: tenant_id})


def scopes_of_run(
    partition_keys: Sequence[str], tenants_for_keys: Callable[[Iterable[str]], Mapping[str, str]]
) -> list[DayScope]:
    """The (date, tenant ids) groups a run covers, from its multi-partition keys."""
    pairs = []
    for key in partition_keys:
        dims = scoring_partitions.get_partition_key_from_str(key).keys_by_dimension
        pairs.append((dims[DATE_DIMENSION], dims[TENANT_DIMENSION]))
    tenants = tenants_for_keys({tenant_key for _, tenant_key in pairs})
    return day_scopes([(day, tenants[tenant_key]) for day, tenant_key in pairs], _settings.tz)


def add_partition_metadata(
    context: dg.AssetExecutionContext, day: date, by_tenant: Mapping[str, Mapping[str, Any]]
) -> None:
    """Puts each tenant's own figures on its (day, tenant) materialization. What the asset
    returns in its MaterializeResult goes on every partition of the run: only run-wide facts
    (duration, config file) belong there, never a count over several tenants.

    What ``context.add_asset_metadata(metadata, partition_key=…)`` does, for all of a day's
    tenants at once: that method lists the run's partitions on every call to check the key
    (0.34 s for a 31-day x 500-tenant backfill run, so 88 minutes per asset) and copies
    everything recorded so far (quadratic again).
    """
    step = context.op_execution_context._step_execution_context
    recorded = step._metadata_accumulator
    added = {
        AssetMetadataHandle(
            asset_key=context.asset_key,
            partition_key=str(scoring_key(day.isoformat(), tenant_partition_key(tenant_id))),
        ): dict(metadata)
        for tenant_id, metadata in by_tenant.items()
    }
    merged = dict(recorded.per_output_metadata)
    for handle, metadata in added.items():
        merged[handle] = {**merged.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)


# What every Python asset of the graph shares: the partitions, one run per backfill, owners.
PARTITIONED_ASSET = {
    "partitions_def": scoring_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "owners": ["team:data"],
    "kinds": {"python", "pandas", "postgres"},
}


class PartitionFailure(dg.Failure):
    """A failure whose message names the asset, the day, the tenants and the cause."""


@contextmanager
def naming_partitions(asset: str, scopes: Sequence[DayScope]) -> Iterator[None]:
    """Re-raises any error as a Failure that says which asset and partitions it hit."""
    try:
        yield
    except PartitionFailure:
        raise
    except Exception as exc:
        where = "; ".join(f"{s.as_of_date} tenant(s) {', '.join(s.tenant_ids)}" for s in scopes)
        # One line for the runs list, `crm-scoring status` and the webhook; the chained
        # exception keeps the trace for the UI and the run's log.
        raise PartitionFailure(
            description=f"{asset} failed for {where}: {one_line_cause(exc)}",
            metadata={"asset": asset, "partitions": where},
        ) from exc


_DETAIL_CHARS = 120  # enough for the table, the line and the row's key columns


def one_line_cause(exc: BaseException) -> str:
    """The error in one line. For a database error (SQLAlchemy wraps the driver's): its
    message, and what the server names of where it happened: table, column, constraint, the
    failing row (a not-null or check violation) or the COPY line (a trigger's refusal)."""
    error = getattr(exc, "orig", None) or exc
    message = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    diag = getattr(error, "diag", None)
    where = []
    if diag is not None:
        if diag.table_name:
            where.append(
                f"table {diag.schema_name}.{diag.table_name}" if diag.schema_name else diag.table_name
            )
        where += [
            f"{label} {value}"
            for label, value in (("column", diag.column_name), ("constraint", diag.constraint_name))
            if value
        ]
        if diag.message_detail:
            where.append(diag.message_detail.splitlines()[0][:_DETAIL_CHARS])
        copy_lines = [line for line in (diag.context or "").splitlines() if line.startswith("COPY ")]
        where += [line[:_DETAIL_CHARS] for line in copy_lines]
    return f"{type(error).__name__}: {message}" + (f" ({'; '.join(where)})" if where else "")
