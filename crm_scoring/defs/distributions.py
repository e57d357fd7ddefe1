"""Per-tenant distribution tables for BI: the specification's AnalyticsService, per as_of_date."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd

from crm_scoring.charts import MAX_CHARTS, BarChart, churn_risk_charts, engagement_charts, partition_pictures
from crm_scoring.defs.asset_helpers import tenant_counts
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.distributions import CUSTOMERS, churn_risk_overview_rows, engagement_distribution_rows
from crm_scoring.scope import DayScope


@dataclass(frozen=True)
class Summary:
    """A distribution table's rows from scores, the score it counts, and its chart."""

    rows: Callable[[pd.DataFrame, Sequence[str]], pd.DataFrame]
    score: str
    chart: Callable[[pd.DataFrame], list[BarChart]]


ENGAGEMENT = Summary(engagement_distribution_rows, "engagement_score", engagement_charts)
CHURN_RISK = Summary(churn_risk_overview_rows, "churn_risk_score", churn_risk_charts)


def _write_summary(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: str,
    summary: Summary,
) -> dg.MaterializeResult:
    started = time.monotonic()
    figures: dict[date, dict[str, dict[str, object]]] = {}
    charts: list[BarChart] = []
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions(table, [scope]):
            rows, read = _summary_of_batch(warehouse, scope, summary)
            rows.insert(0, "as_of_date", scope.as_of_date)
            warehouse.replace_partition(table, scope, rows)
            charts.extend(summary.chart(rows))
            written = tenant_counts(rows, scope.tenant_ids)
            figures.setdefault(scope.as_of_date, {}).update(
                {
                    tenant_id: {"score_rows_read": read[tenant_id], "rows_written": written[tenant_id]}
                    for tenant_id in scope.tenant_ids
                }
            )
    rendering = time.monotonic()
    # The picture people look at in the UI; charted from the rows written, not re-read.
    pictures = partition_pictures(charts)
    for day, by_tenant in figures.items():
        for tenant_id, metadata in by_tenant.items():
            metadata["distribution"] = dg.MetadataValue.md(pictures[str(day), tenant_id])
        add_partition_metadata(context, day, by_tenant)
    return dg.MaterializeResult(
        metadata={
            "chart_seconds": round(time.monotonic() - rendering, 3),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


def _summary_of_batch(
    warehouse: WarehouseResource, scope: DayScope, summary: Summary
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The batch's summary rows and {tenant_id: score rows read}. The scores are counted in
    the database, per tenant, status and score (at most a few hundred rows per tenant), so
    the step's memory does not grow with a tenant's size."""
    counted = warehouse.read_value_counts(
        "customer_scores", scope, ["tenant_id", "status", summary.score], CUSTOMERS
    )
    read = counted.groupby("tenant_id")[CUSTOMERS].sum()
    return summary.rows(counted, scope.tenant_ids), {
        tenant_id: int(read.get(tenant_id, 0)) for tenant_id in scope.tenant_ids
    }


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[dg.AssetKey("customer_scores")],
    description=(
        "ACTIVE customers per engagement bucket, per tenant and as_of_date: High (70-100), "
        "Medium (40-69), Low (1-39), Inactive (0). Table analytics.engagement_distribution; "
        f"charted in each partition's metadata (drawn for a run's {MAX_CHARTS} largest, counts for the rest)."
    ),
)
def engagement_distribution(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(context, warehouse, "engagement_distribution", ENGAGEMENT)


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[dg.AssetKey("customer_scores")],
    description=(
        "ACTIVE customers per churn-risk band, per tenant and as_of_date: critical (>= 80), "
        "high (60-79), medium (30-59), low (< 30) and total. Table analytics.churn_risk_overview; "
        f"charted in each partition's metadata (drawn for a run's {MAX_CHARTS} largest, counts for the rest)."
    ),
)
def churn_risk_overview(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(context, warehouse, "churn_risk_overview", CHURN_RISK)
