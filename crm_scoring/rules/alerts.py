"""Churn alerts: who crosses the (tenant's) threshold, or (opted in) who the learned model ranks
within the tenant's budget, with a stable identity per day."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from fractions import Fraction

import pandas as pd

from crm_scoring.rules.churn import ALERT_THRESHOLD
from crm_scoring.rules.config import ModelAlertBudget, per_tenant

# Fixed namespace: the same (tenant, customer, as_of_date) always yields the same alert id,
# so reruns replace an alert instead of raising a second one.
_ALERT_NAMESPACE = uuid.UUID("6f1c2b1e-3f0a-4d4e-9a57-5a1d0c6e8b21")


def alert_id(tenant_id: str, customer_id: str, as_of_date: str) -> str:
    return str(uuid.uuid5(_ALERT_NAMESPACE, "\x1f".join((tenant_id, customer_id, as_of_date))))


def high_churn_risk(
    scores: pd.DataFrame, thresholds: int | Mapping[str, int] = ALERT_THRESHOLD
) -> pd.DataFrame:
    """The score rows at or above the alert threshold (``churnRisk >= 80`` by default):
    one threshold for every row, or one per tenant ({tenant_id: threshold}, every tenant of
    ``scores`` present)."""
    return scores[scores["churn_risk_score"] >= per_tenant(scores["tenant_id"], thresholds)]


def model_alert_count(customers: int, top_percent: float) -> int:
    """How many of a tenant's predicted customers a ``top_percent`` budget alerts: that share,
    rounded up (a budget of 5% of 30 customers is 2, not 1.5), in exact arithmetic: 1.1% of 3000
    is 33, not the 34 that floats (33.00000000000001) would round up to."""
    return math.ceil(Fraction(customers) * Fraction(str(top_percent)) / 100)


def model_alerted(predictions: pd.DataFrame, budget: ModelAlertBudget) -> pd.DataFrame:
    """The rows of one tenant-day's churn_predictions the model alerts on, by churn_rank: the
    ``model_alert_count`` best ranks, or every customer whose probability reaches the threshold.

    Ties at a top-percent cut go by churn_rank (probability, then the model's raw score, then
    customer_id): the budget is a number of alerts, so tied customers beyond it are not alerted."""
    ranked = predictions.sort_values("churn_rank")
    if budget.top_percent is not None:
        return ranked.head(model_alert_count(len(ranked), budget.top_percent))
    return ranked[ranked["churn_probability"] >= budget.probability_threshold]


def model_alert_reason(
    model_version: str, probability: float, rank: int, budget: ModelAlertBudget, drivers: Sequence[str]
) -> str:
    """Why the model alerted a customer, in words: the model, the probability, the budget it
    fell within and the drivers (when churn_predictions has them)."""
    within = (
        f"top {budget.top_percent:g}% by churn probability"
        if budget.top_percent is not None
        else f"churn probability >= {budget.probability_threshold:g}"
    )
    reason = f"churn model {model_version}: probability {probability:.2f}, rank {rank} ({within})"
    return f"{reason}; drivers: {'; '.join(drivers)}" if drivers else reason
