"""Per-tenant distribution tables for BI: the specification's AnalyticsService, per as_of_date."""

import time
from collections.abc import Callable, Sequence

import dagster as dg
import pandas as pd

from crm_scoring.charts import MAX_CHARTS, BarChart, charts_markdown, churn_risk_charts, engagement_charts
from crm_scoring.defs.partitions import PARTITIONED_ASSET, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.rules.distributions import churn_risk_overview_rows, engagement_distribution_rows

Summarise = Callable[[pd.DataFrame, Sequence[str]], pd.DataFrame]
Chart = Callable[[pd.DataFrame], list[BarChart]]


def _write_summary(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: str,
    summarise: Summarise,
    chart: Chart,
) -> dg.MaterializeResult:
    started = time.monotonic()
    written = scores_read = 0
    charts: list[BarChart] = []
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions(table, [scope]):
            scores = warehouse.read_partition(
                "customer_scores", scope, ["tenant_id", "status", "engagement_score", "churn_risk_score"]
            )
            scores_read += len(scores)
            rows = summarise(scores, scope.tenant_ids)
            rows.insert(0, "as_of_date", scope.as_of_date)
            written += warehouse.replace_partition(table, scope, rows)
            charts.extend(chart(rows))
    rendering = time.monotonic()
    # The picture people look at in the UI; charted from the rows written, not re-read.
    picture = charts_markdown(charts)
    return dg.MaterializeResult(
        metadata={
            "score_rows_read": scores_read,
            "rows_written": written,
            "distribution": dg.MetadataValue.md(picture),
            "chart_seconds": round(time.monotonic() - rendering, 3),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[customer_scores],
    description=(
        "ACTIVE customers per engagement bucket, per tenant and as_of_date: High (70-100), "
        "Medium (40-69), Low (1-39), Inactive (0). Table analytics.engagement_distribution; "
        f"charted per tenant in the metadata (the {MAX_CHARTS} largest)."
    ),
)
def engagement_distribution(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(
        context, warehouse, "engagement_distribution", engagement_distribution_rows, engagement_charts
    )


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[customer_scores],
    description=(
        "ACTIVE customers per churn-risk band, per tenant and as_of_date: critical (>= 80), "
        "high (60-79), medium (30-59), low (< 30) and total. Table analytics.churn_risk_overview; "
        f"charted per tenant in the metadata (the {MAX_CHARTS} largest)."
    ),
)
def churn_risk_overview(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(
        context, warehouse, "churn_risk_overview", churn_risk_overview_rows, churn_risk_charts
    )
