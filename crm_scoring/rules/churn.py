"""ChurnRiskService: five risk components, each 0-100, and their weighted sum.

The weights, the engagement-drop step table and the alert threshold come from the scoring
configuration (rules/config.py); the defaults are the specification's values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crm_scoring.rules.config import SPEC_CONFIG, ChurnWeights, Steps
from crm_scoring.rules.rounding import js_round

_SPEC = SPEC_CONFIG.churn
# The specification's values, kept under their old names for existing readers; per-tenant
# values come from ScoringConfig.churn.
WEIGHTS = {name: getattr(_SPEC.weights, name) for name in ChurnWeights.__dataclass_fields__}
ALERT_THRESHOLD = _SPEC.alert_threshold


def activity_decline_risk(
    activity_count_30d: npt.ArrayLike,
    activity_count_90d: npt.ArrayLike,
    days_since_last_activity: npt.ArrayLike,
) -> np.ndarray:
    recent = np.asarray(activity_count_30d, dtype=np.float64)
    older = np.asarray(activity_count_90d, dtype=np.float64) - recent
    days = np.asarray(days_since_last_activity, dtype=np.float64)
    without_recent = np.select(
        [np.isnan(days), days > 90, days > 60, days > 30], [100, 100, 80, 60], default=40
    )
    expected_recent = older / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        decline_rate = (expected_recent - recent) / expected_recent
    with_recent = np.select(
        [
            older == 0,
            decline_rate >= 0.75,
            decline_rate >= 0.50,
            decline_rate >= 0.25,
            decline_rate > 0,
        ],
        [0, 100, 75, 50, 25],
        default=0,
    )
    return np.where(recent == 0, without_recent, with_recent)


def payment_risk(payment_failed_90d: npt.ArrayLike, payment_received_90d: npt.ArrayLike) -> np.ndarray:
    failed = np.asarray(payment_failed_90d, dtype=np.float64)
    received = np.asarray(payment_received_90d, dtype=np.float64)
    return np.select([failed == 0, failed > 2, failed > received], [0, 100, 80], default=40)


def engagement_drop_risk(
    days_since_last_email_open: npt.ArrayLike, steps: Steps = _SPEC.engagement_drop
) -> np.ndarray:
    """More than ``thresholds[i]`` days -> ``points[i]``, the highest step passed; else 0.
    NaN days means the profile never opened an email: neutral 50."""
    days = np.asarray(days_since_last_email_open, dtype=np.float64)
    return np.select(
        [np.isnan(days), *(days > threshold for threshold in reversed(steps.thresholds))],
        [50, *reversed(steps.points)],
        default=0,
    )


def tier_downgrade_risk(latest_tier_change_reason: npt.ArrayLike) -> np.ndarray:
    reasons = np.asarray(latest_tier_change_reason, dtype=object)
    return np.where(reasons == "downgrade", 80, 0)


def complaint_risk(complaints_90d: npt.ArrayLike) -> np.ndarray:
    complaints = np.asarray(complaints_90d, dtype=np.float64)
    return np.select([complaints > 2, complaints > 0], [100, 60], default=0)


def churn_risk_score(
    activity_decline: npt.ArrayLike,
    payment: npt.ArrayLike,
    engagement_drop: npt.ArrayLike,
    tier_downgrade: npt.ArrayLike,
    complaints: npt.ArrayLike,
    weights: ChurnWeights = _SPEC.weights,
) -> np.ndarray:
    return js_round(
        np.asarray(activity_decline, dtype=np.float64) * weights.activity_decline
        + np.asarray(payment, dtype=np.float64) * weights.payment_issues
        + np.asarray(engagement_drop, dtype=np.float64) * weights.engagement_drop
        + np.asarray(tier_downgrade, dtype=np.float64) * weights.tier_downgrade
        + np.asarray(complaints, dtype=np.float64) * weights.complaints
    )
