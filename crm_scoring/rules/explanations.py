"""Why a customer's churn risk is what it is, in words a success manager reads.

The reasons are the churn components that add the most points (component x weight), at most
three, each phrased from the features that produced it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_scoring.rules.config import SPEC_CONFIG, ChurnWeights

MAX_REASONS = 3


def _contributions(weights: ChurnWeights) -> dict[str, float]:
    """component column -> its weight in the churn-risk sum"""
    return {
        "activity_decline_risk": weights.activity_decline,
        "payment_risk": weights.payment_issues,
        "engagement_drop_risk": weights.engagement_drop,
        "tier_downgrade_risk": weights.tier_downgrade,
        "complaint_risk": weights.complaints,
    }


def _plural(count: pd.Series, word: str) -> np.ndarray:
    counts = count.to_numpy(dtype=np.int64)
    return _text(counts) + " " + word + np.where(counts == 1, "", "s").astype(object)


def _text(numbers: np.ndarray) -> np.ndarray:
    return numbers.astype(np.int64).astype(str).astype(object)


def _decline_phrases(features: pd.DataFrame, days_since_activity: np.ndarray, _: np.ndarray) -> np.ndarray:
    recent = features["activity_count_30d"].to_numpy(dtype=np.int64)
    older = features["activity_count_90d"].to_numpy(dtype=np.int64) - recent
    decline_pct = np.round(
        np.divide((older / 2 - recent) * 100, older / 2, out=np.zeros(len(older)), where=older > 0)
    )
    return np.where(
        np.isnan(days_since_activity),
        "never active",
        np.where(
            recent == 0,
            "no activity for " + _text(np.nan_to_num(days_since_activity)) + " days",
            "activity down " + _text(decline_pct) + "% on the previous 60 days",
        ),
    ).astype(object)


def _payment_phrases(features: pd.DataFrame, *_: np.ndarray) -> np.ndarray:
    return _plural(features["payment_failed_90d"], "failed payment") + " in 90 days"


def _drop_phrases(features: pd.DataFrame, _: np.ndarray, days_since_open: np.ndarray) -> np.ndarray:
    return np.where(
        np.isnan(days_since_open),
        "never opened an email",
        "no email opened for " + _text(np.nan_to_num(days_since_open)) + " days",
    ).astype(object)


def _tier_phrases(features: pd.DataFrame, *_: np.ndarray) -> np.ndarray:
    return np.full(len(features), "tier downgraded in the last 180 days", dtype=object)


def _complaint_phrases(features: pd.DataFrame, *_: np.ndarray) -> np.ndarray:
    return _plural(features["complaints_90d"], "complaint") + " in 90 days"


# component -> its phrase for each of the rows given (features, days since the last activity
# and since the last email open): an object array of str.
_PHRASES = {
    "activity_decline_risk": _decline_phrases,
    "payment_risk": _payment_phrases,
    "engagement_drop_risk": _drop_phrases,
    "tier_downgrade_risk": _tier_phrases,
    "complaint_risk": _complaint_phrases,
}


def top_churn_reasons(
    features: pd.DataFrame,
    scores: pd.DataFrame,
    days_since_activity: np.ndarray,
    days_since_open: np.ndarray,
    weights: ChurnWeights = SPEC_CONFIG.churn.weights,
) -> pd.Series:
    """ "; "-joined reasons, biggest contribution first (under ``weights``, the tenant's churn
    weights); empty when churn risk is 0. Each row's phrases are worded only for the components
    it names (at most three of five)."""
    contributions = _contributions(weights)
    columns = list(contributions)
    points = np.column_stack(
        [scores[column].to_numpy(dtype=np.float64) * weight for column, weight in contributions.items()]
    )
    # Stable sort on -points keeps the specification's component order for ties.
    order = np.argsort(-points, axis=1, kind="stable")[:, :MAX_REASONS]
    named = np.take_along_axis(points, order, axis=1) > 0  # a prefix of each row: sorted descending
    reasons = np.full(len(features), "", dtype=object)
    for slot in range(MAX_REASONS):
        words = np.full(len(features), "", dtype=object)
        for index, component in enumerate(columns):
            rows = np.flatnonzero(named[:, slot] & (order[:, slot] == index))
            if len(rows):
                words[rows] = _PHRASES[component](
                    features.iloc[rows], days_since_activity[rows], days_since_open[rows]
                )
        separator = np.where(named[:, slot] & (slot > 0), "; ", "").astype(object)
        reasons = reasons + separator + words
    return pd.Series(reasons, index=features.index)
