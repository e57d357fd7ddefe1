"""EngagementScoringService: five components, each 0-100, and their weighted sum.

The weights and the recency, frequency and monetary step tables come from the scoring
configuration (rules/config.py); the defaults are the specification's values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crm_scoring.rules.config import SPEC_CONFIG, EngagementWeights, Steps
from crm_scoring.rules.rounding import js_round

_SPEC = SPEC_CONFIG.engagement
# The specification's weights, kept as a mapping for readers of the old constant.
WEIGHTS = {name: getattr(_SPEC.weights, name) for name in EngagementWeights.__dataclass_fields__}


def recency_score(days_since_last_activity: npt.ArrayLike, steps: Steps = _SPEC.recency) -> np.ndarray:
    """At most ``thresholds[i]`` days -> ``points[i]``, the first step that holds; older: 0.
    NaN days means the customer never had an activity: 0."""
    days = np.asarray(days_since_last_activity, dtype=np.float64)
    return np.select(
        [np.isnan(days), *(days <= limit for limit in steps.thresholds)],
        [0, *steps.points],
        default=0,
    )


def frequency_score(activity_count_30d: npt.ArrayLike, steps: Steps = _SPEC.frequency) -> np.ndarray:
    """At least ``thresholds[i]`` activities -> ``points[i]``, the highest step reached; below: 0."""
    count = np.asarray(activity_count_30d, dtype=np.float64)
    return _highest_step_reached(count, steps)


def monetary_score(lifetime_value: npt.ArrayLike, steps: Steps = _SPEC.monetary) -> np.ndarray:
    """Lifetime value in minor currency units; null counts as 0 (``lifetimeValue ?? 0``).
    At least ``thresholds[i]`` -> ``points[i]``, the highest step reached; below: 0."""
    ltv = np.nan_to_num(np.asarray(lifetime_value, dtype=np.float64), nan=0.0)
    return _highest_step_reached(ltv, steps)


def _highest_step_reached(values: np.ndarray, steps: Steps) -> np.ndarray:
    # The specification's order: `if (x >= 20) ... if (x >= 10) ...`, highest threshold first.
    return np.select(
        [values >= threshold for threshold in reversed(steps.thresholds)],
        list(reversed(steps.points)),
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
    weights: EngagementWeights = _SPEC.weights,
) -> np.ndarray:
    # Same order of float64 operations as the specification, so ties round identically.
    return js_round(
        np.asarray(recency, dtype=np.float64) * weights.recency
        + np.asarray(frequency, dtype=np.float64) * weights.frequency
        + np.asarray(monetary, dtype=np.float64) * weights.monetary
        + np.asarray(breadth, dtype=np.float64) * weights.breadth
        + np.asarray(depth, dtype=np.float64) * weights.depth
    )
