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


def _plural(count: pd.Series, word: str) -> pd.Series:
    counts = count.astype("int64")
    return counts.astype(str) + " " + word + np.where(counts == 1, "", "s")


def _phrases(features: pd.DataFrame, days_since_activity: np.ndarray, days_since_open: np.ndarray) -> dict:
    recent = features["activity_count_30d"].astype("int64")
    older = features["activity_count_90d"].astype("int64") - recent
    decline_pct = np.round(
        np.divide((older / 2 - recent) * 100, older / 2, out=np.zeros(len(older)), where=older > 0)
    ).astype("int64")
    quiet = pd.Series(np.nan_to_num(days_since_activity).astype("int64"), index=features.index)
    no_open = pd.Series(np.nan_to_num(days_since_open).astype("int64"), index=features.index)
    return {
        "activity_decline_risk": pd.Series(
            np.where(
                np.isnan(days_since_activity),
                "never active",
                np.where(
                    recent == 0,
                    "no activity for " + quiet.astype(str) + " days",
                    "activity down "
                    + pd.Series(decline_pct, index=features.index).astype(str)
                    + "% on the previous 60 days",
                ),
            ),
            index=features.index,
        ),
        "payment_risk": _plural(features["payment_failed_90d"], "failed payment") + " in 90 days",
        "engagement_drop_risk": pd.Series(
            np.where(
                np.isnan(days_since_open),
                "never opened an email",
                "no email opened for " + no_open.astype(str) + " days",
            ),
            index=features.index,
        ),
        "tier_downgrade_risk": pd.Series("tier downgraded in the last 180 days", index=features.index),
        "complaint_risk": _plural(features["complaints_90d"], "complaint") + " in 90 days",
    }


def top_churn_reasons(
    features: pd.DataFrame,
    scores: pd.DataFrame,
    days_since_activity: np.ndarray,
    days_since_open: np.ndarray,
    weights: ChurnWeights = SPEC_CONFIG.churn.weights,
) -> pd.Series:
    """ "; "-joined reasons, biggest contribution first (under ``weights``, the tenant's churn
    weights); empty when churn risk is 0."""
    contributions = _contributions(weights)
    columns = list(contributions)
    points = np.column_stack(
        [scores[column].to_numpy(dtype=np.float64) * weight for column, weight in contributions.items()]
    )
    phrases = _phrases(features, days_since_activity, days_since_open)
    texts = np.column_stack([phrases[column].to_numpy(dtype=object) for column in columns])
    # Stable sort on -points keeps the specification's component order for ties.
    order = np.argsort(-points, axis=1, kind="stable")[:, :MAX_REASONS]
    chosen_points = np.take_along_axis(points, order, axis=1)
    chosen_texts = np.take_along_axis(texts, order, axis=1)
    chosen_texts[chosen_points <= 0] = None
    return pd.Series(["; ".join(text for text in row if text) for row in chosen_texts], index=features.index)
