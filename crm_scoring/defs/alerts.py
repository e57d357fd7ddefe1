"""churn_alerts: one alert per customer and as_of_date whose churn risk reaches the threshold."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.defs.scoring import customer_scores, scoring_config, tenant_counts
from crm_scoring.rules.alerts import alert_id, high_churn_risk
from crm_scoring.rules.churn import ALERT_THRESHOLD
from crm_scoring.rules.config import ScoringConfigFile

ALERT_COLUMNS = [
    "alert_id",
    "as_of_date",
    "tenant_id",
    "customer_id",
    "churn_risk_score",
    "engagement_score",
    "raised_at",
    "run_id",
]


ALERT_INPUT_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "churn_risk_score", "engagement_score"]


def alert_rows(
    scores: pd.DataFrame, run_id: str, thresholds: int | dict[str, int] = ALERT_THRESHOLD
) -> pd.DataFrame:
    """The churn_alerts rows: scores at or above the threshold (one, or {tenant_id: threshold})."""
    alerts = high_churn_risk(scores, thresholds).copy()
    alerts["alert_id"] = [
        alert_id(tenant, customer, str(day))
        for tenant, customer, day in zip(
            alerts["tenant_id"], alerts["customer_id"], alerts["as_of_date"], strict=True
        )
    ]
    alerts["raised_at"] = datetime.now(UTC).isoformat()
    alerts["run_id"] = run_id
    return alerts[ALERT_COLUMNS]


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="alerting",
    deps=[customer_scores],
    description=(
        "Customers whose churn_risk_score reaches their tenant's alert threshold (scoring config "
        "churn.alert_threshold; the specification's 80 by default) on as_of_date: the "
        "specification's high-churn-risk events. One row per (tenant, customer, as_of_date) "
        "with a stable alert_id, so reruns replace rather than duplicate. Table "
        "analytics.churn_alerts."
    ),
)
def churn_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    configs = scoring_config(context)
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions("churn_alerts", [scope]):
            scores = warehouse.read_partition("customer_scores", scope, ALERT_INPUT_COLUMNS)
            thresholds = alert_thresholds(configs, scope.tenant_ids)
            alerts = alert_rows(scores, context.run.run_id, thresholds)
            warehouse.replace_partition("churn_alerts", scope, alerts)
            read = tenant_counts(scores, scope.tenant_ids)
            raised = tenant_counts(alerts, scope.tenant_ids)
            add_partition_metadata(
                context,
                scope.as_of_date,
                {
                    tenant_id: {
                        "score_rows_read": read[tenant_id],
                        "alerts_raised": raised[tenant_id],
                        "threshold": thresholds[tenant_id],
                    }
                    for tenant_id in scope.tenant_ids
                },
            )
    return dg.MaterializeResult(metadata={"duration_seconds": round(time.monotonic() - started, 3)})


def alert_thresholds(configs: ScoringConfigFile, tenant_ids) -> dict[str, int]:
    """{tenant_id: churn-alert threshold}"""
    return {tenant_id: configs.config_for(tenant_id).churn.alert_threshold for tenant_id in tenant_ids}
