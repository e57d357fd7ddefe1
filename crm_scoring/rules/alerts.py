"""Churn alerts: who crosses the (tenant's) threshold, with a stable identity per day."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pandas as pd

from crm_scoring.rules.churn import ALERT_THRESHOLD
from crm_scoring.rules.config import per_tenant

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
