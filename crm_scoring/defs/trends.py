"""Trends from the score history: per-customer changes, rising risk, per-tenant daily averages."""

import time
from datetime import timedelta

import dagster as dg
import pandas as pd

from crm_scoring.defs.asset_helpers import scoring_config
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.config import ScoringConfigFile
from crm_scoring.rules.trends import KEYS, customer_trends, tenant_averages, tenant_totals
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
    """One batch of the day's tenants, its scores read in chunks of at most
    CRM_SCORING_BATCH_CUSTOMERS customers, each with the same customers' scores of 7 and 30 days
    before; the trends written chunk by chunk in one transaction, the tenant averages from the
    chunks' totals. The step's memory does not grow with a tenant's size."""
    points = {
        tenant_id: configs.config_for(tenant_id).trends.rising_risk_points for tenant_id in scope.tenant_ids
    }
    totals: list[pd.DataFrame] = []
    with warehouse.partition_writer("customer_score_trends", scope) as write:

        def trends_of_chunk(today: pd.DataFrame) -> None:
            week_ago, month_ago = (scope.as_of_date - timedelta(days=days) for days in (7, 30))
            # The chunk is in key order: its customers of each tenant lie between the first
            # and the last, and their past scores are read as those ranges.
            ends = today.groupby("tenant_id", sort=False)["customer_id"].agg(["first", "last"])
            past = warehouse.read_customer_ranges(
                "customer_scores", [week_ago, month_ago], list(ends.itertuples(name=None)), _SCORES
            )
            day = past.pop("as_of_date")
            trends = customer_trends(today, past[day == week_ago], past[day == month_ago], points)
            totals.append(tenant_totals(trends))
            trends.insert(0, "as_of_date", scope.as_of_date)
            write(trends)

        warehouse.for_each_chunk("customer_scores", scope, trends_of_chunk, _SCORES, order_by=KEYS)
    averages = tenant_averages(pd.concat(totals), scope.tenant_ids)
    averages.insert(0, "as_of_date", scope.as_of_date)
    warehouse.replace_partition("tenant_daily_averages", scope, averages)
    add_partition_metadata(
        context,
        scope.as_of_date,
        {
            row.tenant_id: {
                "customers": int(row.customers),
                "rising_risk_customers": int(row.rising_risk_customers),
                "rising_risk_points": points[row.tenant_id],
            }
            for row in averages.itertuples()
        },
    )
