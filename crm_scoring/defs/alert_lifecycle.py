"""churn_alert_episodes: alerts that open once, stay open, resolve, and re-open only after a
cooldown; new ones go to the outbox for webhook delivery."""

import json
import os
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Connection

from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.delivery.outbox_sender import deliver_pending
from crm_scoring.rules.alert_lifecycle import transitions
from crm_scoring.rules.config import MODEL_ALERTS
from crm_scoring.scope import DayScope
from crm_scoring.settings import WEBHOOK_ENV
from crm_scoring.warehouse import alert_episodes, alert_outbox
from crm_scoring.warehouse.writes import lock_partitions

COOLDOWN_ENV = "CRM_SCORING_ALERT_COOLDOWN_DAYS"
TRANSITIONS = ("opened", "continued", "reopened", "resolved")


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="alerting",
    deps=[dg.AssetKey("churn_alerts")],
    description=(
        "Alert lifecycle over churn_alerts: an alert opens when a customer crosses their tenant's "
        "alert threshold (scoring config churn.alert_threshold), "
        "stays open while they stay above it, resolves when they fall below, and re-opens as a new "
        f"alert only after {COOLDOWN_ENV} (default 14) days. Tables analytics.alert_episodes and "
        "analytics.alert_outbox (new alerts awaiting webhook delivery). Process days in order."
    ),
)
def churn_alert_episodes(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    cooldown = int(os.environ.get(COOLDOWN_ENV, "14"))
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("churn_alert_episodes", [scope]), warehouse.engine.begin() as connection:
            lock_partitions(connection, warehouse.table("alert_episodes"), scope.as_of_date, scope.tenant_ids)
            changes = _apply_day(connection, warehouse.analytics_schema, scope, cooldown)
        add_partition_metadata(context, scope.as_of_date, changes)
    return dg.MaterializeResult(metadata={"cooldown_days": cooldown})


def _apply_day(
    connection: Connection, schema: str, scope: DayScope, cooldown: int
) -> dict[str, dict[str, int]]:
    """Applies the day's transitions; returns {tenant_id: {"alerts_opened": n, …}}."""
    day, tenants = scope.as_of_date, list(scope.tenant_ids)
    # A rerun of the day first undoes what the day did (its new episodes and resolutions).
    alert_episodes.undo_day(connection, schema, day, tenants)
    alerts = alert_episodes.churn_alerts_of_day(connection, schema, day, tenants)
    alerting = {(row.tenant_id, row.customer_id): row.churn_risk_score for row in alerts}
    # A model alert (scoring config churn.alert_source: model) tells the receiver so; a rule
    # alert's payload stays the specification's.
    by_model = {
        (row.tenant_id, row.customer_id): {
            "alert_source": row.alert_source,
            "churn_probability": row.churn_probability,
            "reason": row.reason,
        }
        for row in alerts
        if row.alert_source == MODEL_ALERTS
    }
    episodes = alert_episodes.latest_episodes_before(connection, schema, day, tenants)
    change = transitions(day, alerting, episodes, cooldown)
    opened = [
        {
            "id": e.alert_id,
            "tenant": e.tenant_id,
            "customer": e.customer_id,
            "day": day,
            "score": alerting[e.customer],
            "payload": json.dumps(
                {
                    "event": "churn_alert_opened",
                    "alert_id": e.alert_id,
                    "tenant_id": e.tenant_id,
                    "customer_id": e.customer_id,
                    "opened_on": day.isoformat(),
                    "churn_risk_score": alerting[e.customer],
                    **by_model.get(e.customer, {}),
                }
            ),
        }
        for e in change.opened
    ]
    alert_episodes.insert_opened(connection, schema, opened)
    alert_outbox.enqueue(connection, schema, opened)
    by_id = {e.alert_id: e for e in episodes}
    seen = [
        {"id": alert, "day": day, "score": alerting[by_id[alert].customer]}
        for alert in change.continued + change.reopened
    ]
    alert_episodes.mark_seen(connection, schema, seen)
    alert_episodes.resolve(connection, schema, day, change.resolved)
    tenant_of = {e.alert_id: e.tenant_id for e in [*episodes, *change.opened]}
    counts = {tenant_id: Counter() for tenant_id in tenants}
    for name, alert_ids in (
        ("opened", [e.alert_id for e in change.opened]),
        ("continued", change.continued),
        ("reopened", change.reopened),
        ("resolved", change.resolved),
    ):
        for alert in alert_ids:
            counts[tenant_of[alert]][name] += 1
    return {
        tenant_id: {f"alerts_{name}": counts[tenant_id][name] for name in TRANSITIONS}
        for tenant_id in tenants
    }


@dg.sensor(
    name="deliver_churn_alerts",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Posts new churn alerts from the outbox to {WEBHOOK_ENV}, with retries and backoff.",
)
def deliver_churn_alerts(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SkipReason:
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        return dg.SkipReason(f"{WEBHOOK_ENV} is not set: alerts wait in the outbox.")
    report = deliver_pending(warehouse.engine, warehouse.analytics_schema, url, now=datetime.now(UTC))
    return dg.SkipReason(f"delivered {report.delivered}, failed {report.failed} (will retry)")
