"""churn_alerts: one alert per customer and as_of_date whose churn risk reaches the threshold,
or, for a tenant that opted in (scoring config churn.alert_source: model), whom the learned
model ranks within the tenant's budget."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.asset_helpers import alert_thresholds, scoring_config, tenant_counts
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.model.serving import DRIVER_COLUMNS
from crm_scoring.rules.alerts import alert_id, high_churn_risk, model_alert_reason, model_alerted
from crm_scoring.rules.churn import ALERT_THRESHOLD
from crm_scoring.rules.config import MODEL_ALERTS, RULE_ALERTS, ChurnConfig, ScoringConfigFile
from crm_scoring.scope import DayScope

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
# Written by every run: a rule alert has no probability and no reason beyond its score.
TABLE_COLUMNS = [*ALERT_COLUMNS, "alert_source", "churn_probability", "reason"]
PREDICTION_INPUT_COLUMNS = [
    "customer_id",
    "churn_probability",
    "churn_rank",
    "model_version",
    *DRIVER_COLUMNS,
]
ALERT_INPUT_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "churn_risk_score", "engagement_score"]


def alert_rows(
    scores: pd.DataFrame, run_id: str, thresholds: int | dict[str, int] = ALERT_THRESHOLD
) -> pd.DataFrame:
    """The churn_alerts rows: scores at or above the threshold (one, or {tenant_id: threshold})."""
    return _stamped(high_churn_risk(scores, thresholds).copy(), run_id)[ALERT_COLUMNS]


def model_alert_rows(
    scores: pd.DataFrame, alerted: pd.DataFrame, churn: ChurnConfig, run_id: str
) -> pd.DataFrame:
    """churn_alerts rows of one tenant-day from the churn_predictions rows its budget alerts
    (``model_alerted``): those of them that are among ``scores``, with their rule scores (the
    lifecycle and the BI view show both). ``scores`` may be a chunk of the tenant's: the rows
    of its chunks add up to the rows of the whole."""
    alerts = _stamped(alerted.merge(scores, on="customer_id", how="inner", validate="one_to_one"), run_id)
    alerts["alert_source"] = MODEL_ALERTS
    alerts["reason"] = [
        model_alert_reason(
            row.model_version,
            row.churn_probability,
            row.churn_rank,
            churn.model_alert,
            [
                driver
                for driver in (getattr(row, column) for column in DRIVER_COLUMNS)
                if isinstance(driver, str)
            ],
        )
        for row in alerts.itertuples()
    ]
    return alerts[TABLE_COLUMNS]


def _stamped(alerts: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """``alerts`` with their stable alert_id and this run's raised_at and run_id."""
    alerts["alert_id"] = [
        alert_id(tenant, customer, str(day))
        for tenant, customer, day in zip(
            alerts["tenant_id"], alerts["customer_id"], alerts["as_of_date"], strict=True
        )
    ]
    alerts["raised_at"] = datetime.now(UTC).isoformat()
    alerts["run_id"] = run_id
    return alerts


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="alerting",
    # churn_predictions: the opted-in tenants' alerts are made of it (same partitions)
    deps=[dg.AssetKey("customer_scores"), dg.AssetKey("churn_predictions")],
    description=(
        "Customers whose churn_risk_score reaches their tenant's alert threshold (scoring config "
        "churn.alert_threshold; the specification's 80 by default) on as_of_date: the "
        "specification's high-churn-risk events. A tenant that opted in (churn.alert_source: "
        "model) is alerted instead on the customers churn_predictions ranks within its budget "
        "(churn.model_alert: top_percent, default 5, or probability_threshold), with the reason "
        "in words; without predictions for the day it keeps the rule's alerts, and its partition "
        "says so (model_fallback). One row per (tenant, customer, as_of_date) with a stable "
        "alert_id, so reruns replace rather than duplicate. Table analytics.churn_alerts."
    ),
)
def churn_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    configs = scoring_config(context)
    fallbacks = 0
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("churn_alerts", [scope]):
            model_tenants = _model_alerted(context, warehouse, configs, scope)
            fallbacks += sum(alerted is None for alerted in model_tenants.values())
            metadata = _alerts_of_batch(context, warehouse, configs, scope, model_tenants)
            add_partition_metadata(context, scope.as_of_date, metadata)
    return dg.MaterializeResult(
        metadata={"duration_seconds": round(time.monotonic() - started, 3), "model_fallbacks": fallbacks}
    )


def _model_alerted(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    configs: ScoringConfigFile,
    scope: DayScope,
) -> dict[str, pd.DataFrame | None]:
    """{tenant_id: its churn_predictions rows within its budget} for the batch's tenants that
    opted in to model alerts; None for one without predictions for the day (it falls back to
    the rule)."""
    chosen: dict[str, pd.DataFrame | None] = {}
    for tenant_id in scope.tenant_ids:
        churn = configs.config_for(tenant_id).churn
        if churn.alert_source != MODEL_ALERTS:
            continue
        one = DayScope(scope.as_of_date, (tenant_id,), scope.as_of)
        predictions = warehouse.read_partition("churn_predictions", one, PREDICTION_INPUT_COLUMNS)
        if predictions.empty:
            context.log.warning(f"churn_alerts {scope.as_of_date} {tenant_id}: no predictions, rule alerts")
            chosen[tenant_id] = None
        else:
            chosen[tenant_id] = model_alerted(predictions, churn.model_alert)
    return chosen


def _alerts_of_batch(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    configs: ScoringConfigFile,
    scope: DayScope,
    model_tenants: dict[str, pd.DataFrame | None],
) -> dict[str, dict[str, object]]:
    """Writes the batch's alerts, its scores read in chunks of at most
    CRM_SCORING_BATCH_CUSTOMERS customers (the step's memory does not grow with a tenant's
    size) into one transaction; returns each tenant's partition metadata."""
    thresholds = alert_thresholds(configs, scope.tenant_ids)
    by_model = {tenant_id: alerted for tenant_id, alerted in model_tenants.items() if alerted is not None}
    read = dict.fromkeys(scope.tenant_ids, 0)
    raised = dict.fromkeys(scope.tenant_ids, 0)
    run_id = context.run.run_id
    with warehouse.partition_writer("churn_alerts", scope) as write:

        def alerts_of_chunk(scores: pd.DataFrame) -> None:
            by_rule = alert_rows(scores[~scores["tenant_id"].isin(by_model)], run_id, thresholds)
            frames = [by_rule.assign(alert_source=RULE_ALERTS)] + [
                model_alert_rows(
                    scores[scores["tenant_id"] == tenant_id],
                    alerted,
                    configs.config_for(tenant_id).churn,
                    run_id,
                )
                for tenant_id, alerted in by_model.items()
            ]
            for tenant_id, count in tenant_counts(scores, scope.tenant_ids).items():
                read[tenant_id] += count
            written = [frame for frame in frames if not frame.empty]
            if not written:
                return
            alerts = pd.concat(written, ignore_index=True).reindex(columns=TABLE_COLUMNS)
            write(alerts)
            for tenant_id, count in tenant_counts(alerts, scope.tenant_ids).items():
                raised[tenant_id] += count

        warehouse.for_each_chunk("customer_scores", scope, alerts_of_chunk, ALERT_INPUT_COLUMNS)
    metadata: dict[str, dict[str, object]] = {}
    for tenant_id in scope.tenant_ids:
        metadata[tenant_id] = {"score_rows_read": read[tenant_id], "alerts_raised": raised[tenant_id]}
        if tenant_id in by_model:
            budget = configs.config_for(tenant_id).churn.model_alert
            metadata[tenant_id] |= {"alert_source": MODEL_ALERTS, "model_alert": budget.to_dict()}
            continue
        metadata[tenant_id] |= {"alert_source": RULE_ALERTS, "threshold": thresholds[tenant_id]}
        if tenant_id in model_tenants:
            metadata[tenant_id]["model_fallback"] = (
                "alert_source is model but churn_predictions has no rows for the day "
                "(see its partition for why): the rule's alerts were raised instead"
            )
    return metadata
