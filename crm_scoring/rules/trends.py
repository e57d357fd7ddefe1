"""Score trends from the history: change over 7 and 30 days, and customers whose risk is rising."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from crm_scoring.rules.config import per_tenant

KEYS = ["tenant_id", "customer_id"]
TREND_COLUMNS = [
    "tenant_id",
    "customer_id",
    "engagement_score",
    "churn_risk_score",
    "engagement_change_7d",
    "engagement_change_30d",
    "churn_risk_change_7d",
    "churn_risk_change_30d",
    "rising_risk",
]


def customer_trends(
    today: pd.DataFrame,
    week_ago: pd.DataFrame,
    month_ago: pd.DataFrame,
    rising_points: int | Mapping[str, int],
) -> pd.DataFrame:
    """Per customer scored today: score changes (null when not scored back then) and
    rising_risk = churn risk up by at least ``rising_points`` in 7 days (one value, or one per
    tenant: {tenant_id: points})."""
    trends = today[[*KEYS, "engagement_score", "churn_risk_score"]].copy()
    for days, past in ((7, week_ago), (30, month_ago)):
        before = past[[*KEYS, "engagement_score", "churn_risk_score"]].rename(
            columns={"engagement_score": "engagement_before", "churn_risk_score": "churn_before"}
        )
        trends = trends.merge(before, on=KEYS, how="left")
        trends[f"engagement_change_{days}d"] = (
            trends["engagement_score"] - trends["engagement_before"]
        ).astype("Int64")
        trends[f"churn_risk_change_{days}d"] = (trends["churn_risk_score"] - trends["churn_before"]).astype(
            "Int64"
        )
        trends = trends.drop(columns=["engagement_before", "churn_before"])
    threshold = per_tenant(trends["tenant_id"], rising_points)
    trends["rising_risk"] = (trends["churn_risk_change_7d"] >= threshold).fillna(False).astype(bool)
    return trends[TREND_COLUMNS]


def tenant_totals(trends: pd.DataFrame) -> pd.DataFrame:
    """Per tenant of ``trends``: customers, the sums of their scores and the rising-risk
    customers; totals of several chunks of a day add up to the day's."""
    grouped = trends.groupby("tenant_id")
    return pd.DataFrame(
        {
            "customers": grouped.size(),
            "engagement_score_sum": grouped["engagement_score"].sum(),
            "churn_risk_score_sum": grouped["churn_risk_score"].sum(),
            "rising_risk_customers": grouped["rising_risk"].sum(),
        }
    ).astype("int64")


def tenant_averages(totals: pd.DataFrame, tenant_ids: Sequence[str]) -> pd.DataFrame:
    """Per tenant: customers scored, mean scores (2 decimals) and rising-risk customers, from
    tenant_totals (summed over chunks: the scores are whole numbers, so the means are exact)."""
    totals = totals.groupby(level=0).sum().reindex(list(tenant_ids))
    counts = totals["customers"]
    averages = pd.DataFrame(
        {
            "customers": counts.fillna(0).astype("int64"),
            "avg_engagement_score": (totals["engagement_score_sum"] / counts).round(2),
            "avg_churn_risk_score": (totals["churn_risk_score_sum"] / counts).round(2),
            "rising_risk_customers": totals["rising_risk_customers"].fillna(0).astype("int64"),
        }
    )
    return averages.rename_axis("tenant_id").reset_index()
