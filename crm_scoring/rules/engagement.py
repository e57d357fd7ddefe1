"""EngagementScoringService: five components, each 0-100, and their weighted sum."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crm_scoring.rules.rounding import js_round

WEIGHTS = {"recency": 0.30, "frequency": 0.25, "monetary": 0.20, "breadth": 0.15, "depth": 0.10}


def recency_score(days_since_last_activity: npt.ArrayLike) -> np.ndarray:
    """NaN days means the customer never had an activity."""
    days = np.asarray(days_since_last_activity, dtype=np.float64)
    return np.select(
        [np.isnan(days), days <= 7, days <= 14, days <= 30, days <= 60, days <= 90],
        [0, 100, 80, 60, 40, 20],
        default=0,
    )


def frequency_score(activity_count_30d: npt.ArrayLike) -> np.ndarray:
    count = np.asarray(activity_count_30d, dtype=np.float64)
    return np.select(
        [count >= 20, count >= 10, count >= 5, count >= 2, count >= 1],
        [100, 80, 60, 40, 20],
        default=0,
    )


def monetary_score(lifetime_value: npt.ArrayLike) -> np.ndarray:
    """Lifetime value in minor currency units; null counts as 0 (``lifetimeValue ?? 0``)."""
    ltv = np.nan_to_num(np.asarray(lifetime_value, dtype=np.float64), nan=0.0)
    return np.select(
        [ltv >= 100000, ltv >= 50000, ltv >= 20000, ltv >= 10000, ltv >= 5000],
        [100, 80, 60, 40, 20],
        default=0,
    )


def breadth_score(
    email_opt_in: npt.ArrayLike,
    sms_opt_in: npt.ArrayLike,
    push_opt_in: npt.ArrayLike,
    whatsapp_opt_in: npt.ArrayLike,
) -> np.ndarray:
    channels = sum(
        np.asarray(flag, dtype=bool).astype(np.int64)
        for flag in (email_opt_in, sms_opt_in, push_opt_in, whatsapp_opt_in)
    )
    return channels * 25


def depth_score(sent_30d: npt.ArrayLike, opened_30d: npt.ArrayLike, clicked_30d: npt.ArrayLike) -> np.ndarray:
    """Neutral 50 without campaigns. Deliberate fix: each rate is capped at 1 so depth <= 100."""
    sent = np.asarray(sent_30d, dtype=np.float64)
    opened = np.asarray(opened_30d, dtype=np.float64)
    clicked = np.asarray(clicked_30d, dtype=np.float64)
    open_rate = np.minimum(np.divide(opened, sent, out=np.zeros_like(sent), where=sent > 0), 1.0)
    click_rate = np.minimum(clicked / np.maximum(opened, 1.0), 1.0)
    return np.where(sent == 0, 50.0, js_round(open_rate * 50 + click_rate * 50))


def engagement_score(
    recency: npt.ArrayLike,
    frequency: npt.ArrayLike,
    monetary: npt.ArrayLike,
    breadth: npt.ArrayLike,
    depth: npt.ArrayLike,
) -> np.ndarray:
    # Same order of float64 operations as the specification, so ties round identically.
    return js_round(
        np.asarray(recency, dtype=np.float64) * WEIGHTS["recency"]
        + np.asarray(frequency, dtype=np.float64) * WEIGHTS["frequency"]
        + np.asarray(monetary, dtype=np.float64) * WEIGHTS["monetary"]
        + np.asarray(breadth, dtype=np.float64) * WEIGHTS["breadth"]
        + np.asarray(depth, dtype=np.float64) * WEIGHTS["depth"]
    )
