"""Per-tenant distribution tables for BI: the specification's AnalyticsService, per as_of_date."""

import time
from collections.abc import Callable, Sequence

import dagster as dg
import pandas as pd

from crm_scoring.defs.partitions import PARTITIONED_ASSET, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.rules.distributions import churn_risk_overview_rows, engagement_distribution_rows

Summarise = Callable[[pd.DataFrame, Sequence[str]], pd.DataFrame]


def _write_summary(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: str,
    summarise: Summarise,
) -> dg.MaterializeResult:
    started = time.monotonic()
    written = scores_read = 0
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions(table, [scope]):
            scores = warehouse.read_partition(
                "customer_scores", scope, ["tenant_id", "status", "engagement_score", "churn_risk_score"]
            )
            scores_read += len(scores)
            rows = summarise(scores, scope.tenant_ids)
            rows.insert(0, "as_of_date", scope.as_of_date)
            written += warehouse.replace_partition(table, scope, rows)
    return dg.MaterializeResult(
        metadata={
            "score_rows_read": scores_read,
            "rows_written": written,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[customer_scores],
    description=(
        "ACTIVE customers per engagement bucket, per tenant and as_of_date: High (70-100), "
        "Medium (40-69), Low (1-39), Inactive (0). Table analytics.engagement_distribution."
    ),
)
def engagement_distribution(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(context, warehouse, "engagement_distribution", engagement_distribution_rows)


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="distributions",
    deps=[customer_scores],
    description=(
        "ACTIVE customers per churn-risk band, per tenant and as_of_date: critical (>= 80), "
        "high (60-79), medium (30-59), low (< 30) and total. Table analytics.churn_risk_overview."
    ),
)
def churn_risk_overview(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _write_summary(context, warehouse, "churn_risk_overview", churn_risk_overview_rows)
