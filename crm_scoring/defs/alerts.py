"""churn_alerts: one alert per customer and as_of_date whose churn risk reaches the threshold."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.partitions import PARTITIONED_ASSET, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.rules.alerts import alert_id, high_churn_risk
from crm_scoring.rules.churn import ALERT_THRESHOLD

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


def alert_rows(scores: pd.DataFrame, run_id: str) -> pd.DataFrame:
    alerts = high_churn_risk(scores).copy()
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
        f"Customers whose churn_risk_score >= {ALERT_THRESHOLD} on as_of_date: the "
        "specification's high-churn-risk events. One row per (tenant, customer, as_of_date) "
        "with a stable alert_id, so reruns replace rather than duplicate. Table "
        "analytics.churn_alerts."
    ),
)
def churn_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    raised = scores_read = 0
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions("churn_alerts", [scope]):
            scores = warehouse.read_partition("customer_scores", scope, ALERT_INPUT_COLUMNS)
            scores_read += len(scores)
            raised += warehouse.replace_partition(
                "churn_alerts", scope, alert_rows(scores, context.run.run_id)
            )
    return dg.MaterializeResult(
        metadata={
            "score_rows_read": scores_read,
            "alerts_raised": raised,
            "threshold": ALERT_THRESHOLD,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )
