"""Trends from the score history: per-customer changes, rising risk, per-tenant daily averages."""

import time
from dataclasses import replace
from datetime import timedelta

import dagster as dg

from crm_scoring.defs.asset_helpers import scoring_config, tenant_counts
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.config import ScoringConfigFile
from crm_scoring.rules.trends import customer_trends, tenant_averages
from crm_scoring.scope import DayScope
from crm_scoring.settings import RISING_RISK_ENV

_SCORES = ["tenant_id", "customer_id", "engagement_score", "churn_risk_score"]


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="trends",
    deps=[dg.AssetKey("customer_scores")],
    description=(
        "Per customer: engagement and churn-risk change over 7 and 30 days (null when not scored "
        "then) and rising_risk (churn risk up by at least the tenant's trends.rising_risk_points "
        f"in the scoring config, default 20 or {RISING_RISK_ENV}, in 7 days). "
        "Tables analytics.customer_score_trends and analytics.tenant_daily_averages."
    ),
)
def score_trends(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    configs = scoring_config(context)
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("score_trends", [scope]):
            _trends_of_batch(context, warehouse, configs, scope)
    return dg.MaterializeResult(metadata={"duration_seconds": round(time.monotonic() - started, 3)})


def _trends_of_batch(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    configs: ScoringConfigFile,
    scope: DayScope,
) -> None:
    """One batch of the day's tenants; its frames are freed before the next batch is read."""
    history = {
        days: warehouse.read_partition(
            "customer_scores", replace(scope, as_of_date=scope.as_of_date - timedelta(days=days)), _SCORES
        )
        for days in (0, 7, 30)
    }
    points = {
        tenant_id: configs.config_for(tenant_id).trends.rising_risk_points for tenant_id in scope.tenant_ids
    }
    trends = customer_trends(history[0], history[7], history[30], points)
    averages = tenant_averages(trends, scope.tenant_ids)
    for frame in (trends, averages):
        frame.insert(0, "as_of_date", scope.as_of_date)
    warehouse.replace_partition("customer_score_trends", scope, trends)
    warehouse.replace_partition("tenant_daily_averages", scope, averages)
    customers = tenant_counts(trends, scope.tenant_ids)
    rising = tenant_counts(trends[trends["rising_risk"].astype(bool)], scope.tenant_ids)
    add_partition_metadata(
        context,
        scope.as_of_date,
        {
            tenant_id: {
                "customers": customers[tenant_id],
                "rising_risk_customers": rising[tenant_id],
                "rising_risk_points": points[tenant_id],
            }
            for tenant_id in scope.tenant_ids
        },
    )
