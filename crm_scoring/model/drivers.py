"""Why the model rates a customer's churn risk as it does, in words a success manager reads.

The drivers are the (at most) three features whose contributions (LightGBM ``pred_contrib``:
exact SHAP values of the trees, in log-odds) push the customer's probability up most. Each is
phrased from the feature's name and the customer's value against the typical value (the
training median): "fewer activities in the last 30 days than typical (2 vs 9)".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

TOP_DRIVERS = 3

# What a feature measures, as a noun phrase; names not listed are read from their pattern.
SUBJECTS: Mapping[str, str] = {
    "activity_count_30d": "activities in the last 30 days",
    "activity_count_90d": "activities in the last 90 days",
    "active_days_30d": "active days in the last 30 days",
    "days_since_last_activity": "days since the last activity",
    "days_since_last_payment": "days since the last payment",
    "days_since_last_email_open": "days since the last email opened",
    "tenure_days": "days as a customer",
    "campaign_sent_30d": "campaign messages received in the last 30 days",
    "campaign_opened_30d": "campaign messages opened in the last 30 days",
    "campaign_clicked_30d": "campaign links clicked in the last 30 days",
    "payment_failed_90d": "failed payments in the last 90 days",
    "payment_received_90d": "payments in the last 90 days",
    "complaints_90d": "complaints in the last 90 days",
    "tenant__customers": "customers of the tenant",
    "tenant__training_churn_rate": "past churn rate of the tenant",
}
# Features whose direction reads better as a sentence of its own: (when lower, when higher).
SENTENCES: Mapping[str, tuple[str, str]] = {
    "activity_ratio_30d_vs_prior_60d": (
        "fewer activities in the last 30 days than before",
        "more activities in the last 30 days than before",
    ),
}
_TYPE_COUNT = re.compile(r"^type__(?P<type>.+)__count_(?P<days>\d+)d$")
_WINDOW = re.compile(r"^(?P<what>.+?)_(?P<days>\d+)d$")


def subject(feature: str) -> str:
    if feature in SUBJECTS:
        return SUBJECTS[feature]
    if match := _TYPE_COUNT.match(feature):
        kind = match["type"].lower().replace("_", " ")
        return f"{kind} activities in the last {match['days']} days"
    if match := _WINDOW.match(feature):
        return f"{match['what'].replace('_', ' ')} in the last {match['days']} days"
    return feature.replace("__", " ").replace("_", " ")


def phrase(feature: str, value: float, typical: float) -> str:
    """One driver in words: the customer's value of ``feature`` against the typical one."""
    if math.isnan(value):
        return f"no record of {subject(feature)}"
    if feature in SENTENCES and value != typical:
        lower, higher = SENTENCES[feature]
        return f"{higher if value > typical else lower} ({_number(value)} vs typical {_number(typical)})"
    if value == typical or math.isnan(typical):
        return f"{subject(feature)}: {_number(value)}"
    if "rate" in feature or "ratio" in feature:
        direction = "a higher" if value > typical else "a lower"
    else:
        direction = "more" if value > typical else "fewer"
    return f"{direction} {subject(feature)} than typical ({_number(value)} vs {_number(typical)})"


def top_drivers(
    contributions: np.ndarray,
    values: np.ndarray,
    features: Sequence[str],
    typical: Sequence[float],
    top: int = TOP_DRIVERS,
) -> list[list[str]]:
    """Per row, the phrases of the ``top`` features with the largest positive contributions
    (largest first); fewer when fewer features push the risk up. ``contributions`` has one
    column per feature (the base column already dropped)."""
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    drivers = []
    for row, columns in enumerate(order):
        drivers.append(
            [
                phrase(features[column], float(values[row, column]), float(typical[column]))
                for column in columns
                if contributions[row, column] > 0
            ]
        )
    return drivers


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
