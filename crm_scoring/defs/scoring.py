"""customer_scores: the specification's engagement and churn-risk scoring over customer_features."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from crm_scoring.defs.dbt import crm_dbt_models
from crm_scoring.defs.partitions import PARTITIONED_ASSET, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.scorecard import SCORE_COLUMNS, score_features

KEY_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "status"]


def score_rows(features: pd.DataFrame, as_of: datetime, run_id: str) -> pd.DataFrame:
    """The rows of analytics.customer_scores for one as_of_date's features."""
    scores = score_features(features, as_of)
    rows = pd.concat([features[KEY_COLUMNS], scores], axis=1)
    # Constant per run: written as ISO text, which COPY parses far faster than pandas formats.
    rows["as_of"] = as_of.isoformat()
    rows["scored_at"] = datetime.now(UTC).isoformat()
    rows["run_id"] = run_id
    return rows


INPUT_QUALITY_CHECK = "input_rows_excluded_by_rule"


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="scoring",
    deps=[
        get_asset_key_for_model([crm_dbt_models], "customer_features"),
        get_asset_key_for_model([crm_dbt_models], "data_quality_issues"),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            INPUT_QUALITY_CHECK,
            asset="customer_scores",
            description="Warns when source rows were ignored or read under a data-quality rule.",
        )
    ],
    description=(
        "Engagement (0-100) and churn risk (0-100) per customer and as_of_date, with the ten "
        "component scores, computed exactly as the specification's services (JavaScript "
        "rounding, floor day counts). Table analytics.customer_scores."
    ),
)
def customer_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    features_read = rows_written = 0
    issues = []
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions("customer_scores", [scope]):
            features = warehouse.read_partition("customer_features", scope)
            features_read += len(features)
            rows = score_rows(features, scope.as_of, context.run.run_id)
            rows_written += warehouse.replace_partition("customer_scores", scope, rows)
            issues.append(warehouse.read_partition("data_quality_issues", scope))
        context.log.info(
            f"{scope.as_of_date}: scored {len(rows)} customers of {len(scope.tenant_ids)} tenant(s)"
        )
    by_rule = issue_summary(pd.concat(issues))
    return dg.MaterializeResult(
        metadata={
            "feature_rows_read": features_read,
            "customers_scored": rows_written,
            "rows_excluded_or_flagged": sum(by_rule.values()),
            **{f"rule: {rule}": count for rule, count in by_rule.items()},
            "duration_seconds": round(time.monotonic() - started, 3),
            "score_columns": ", ".join(SCORE_COLUMNS),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=INPUT_QUALITY_CHECK,
                passed=not by_rule,
                severity=dg.AssetCheckSeverity.WARN,
                description=", ".join(f"{count} {rule}" for rule, count in by_rule.items()) or None,
                metadata={rule: count for rule, count in by_rule.items()},
            )
        ],
    )


def issue_summary(issues: pd.DataFrame) -> dict[str, int]:
    """``{"activities ignored: unknown_customer": 412, …}`` over the run's partitions."""
    if issues.empty:
        return {}
    totals = issues.groupby(["source_table", "handling", "rule"], sort=True)["affected_rows"].sum()
    return {f"{table} {handling}: {rule}": int(count) for (table, handling, rule), count in totals.items()}
