"""customer_scores: the specification's engagement and churn-risk scoring over customer_features."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from crm_scoring.defs.dbt import crm_dbt_models
from crm_scoring.defs.partitions import PARTITIONED_ASSET, naming_partitions, scopes_of_run
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.scorecard import SCORE_COLUMNS, score_features

KEY_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "status"]


def score_rows(features: pd.DataFrame, as_of: datetime, run_id: str) -> pd.DataFrame:
    """The rows of analytics.customer_scores for one as_of_date's features."""
    scores = score_features(features, as_of)
    rows = pd.concat([features[KEY_COLUMNS], scores], axis=1)
    rows["as_of"] = as_of
    rows["scored_at"] = datetime.now(UTC)
    rows["run_id"] = run_id
    return rows


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="scoring",
    deps=[get_asset_key_for_model([crm_dbt_models], "customer_features")],
    description=(
        "Engagement (0-100) and churn risk (0-100) per customer and as_of_date, with the ten "
        "component scores, computed exactly as the specification's services (JavaScript "
        "rounding, floor day counts). Table analytics.customer_scores."
    ),
)
def customer_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    features_read = rows_written = 0
    for scope in scopes_of_run(context.partition_keys):
        with naming_partitions("customer_scores", [scope]):
            features = warehouse.read_partition("customer_features", scope)
            features_read += len(features)
            rows = score_rows(features, scope.as_of, context.run.run_id)
            rows_written += warehouse.replace_partition("customer_scores", scope, rows)
        context.log.info(
            f"{scope.as_of_date}: scored {len(rows)} customers of {len(scope.tenant_ids)} tenant(s)"
        )
    return dg.MaterializeResult(
        metadata={
            "feature_rows_read": features_read,
            "customers_scored": rows_written,
            "duration_seconds": round(time.monotonic() - started, 3),
            "score_columns": ", ".join(SCORE_COLUMNS),
        }
    )
