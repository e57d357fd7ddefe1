"""AnalyticsService: the engagement buckets and churn-risk bands, counted over ACTIVE customers.

The scores counted are one row per customer, or, when they have a ``customers`` column, one row
per distinct values standing for that many customers (what the warehouse groups in SQL: a
tenant's day is then at most a few hundred rows, whatever its size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

COUNTED_STATUS = "ACTIVE"
CUSTOMERS = "customers"


@dataclass(frozen=True)
class Bucket:
    label: str
    min_score: int
    max_score: int


ENGAGEMENT_BUCKETS = (
    Bucket("High (70-100)", 70, 100),
    Bucket("Medium (40-69)", 40, 69),
    Bucket("Low (1-39)", 1, 39),
    Bucket("Inactive (0)", 0, 0),
)


@dataclass(frozen=True)
class RiskBand:
    """``churnRiskScore: { gte: lower, lt: upper }``; None leaves that side open."""

    name: str
    lower: int | None
    upper: int | None

    def contains(self, scores: pd.Series) -> pd.Series:
        inside = pd.Series(True, index=scores.index)
        if self.lower is not None:
            inside &= scores >= self.lower
        if self.upper is not None:
            inside &= scores < self.upper
        return inside


CHURN_RISK_BANDS = (
    RiskBand("critical", 80, None),
    RiskBand("high", 60, 80),
    RiskBand("medium", 30, 60),
    RiskBand("low", None, 30),
)


def engagement_distribution_rows(scores: pd.DataFrame, tenant_ids: Sequence[str]) -> pd.DataFrame:
    """One row per (tenant, bucket), zero counts included, over ACTIVE customers only."""
    active = scores[scores["status"] == COUNTED_STATUS]
    frames = []
    for order, bucket in enumerate(ENGAGEMENT_BUCKETS):
        in_bucket = active["engagement_score"].between(bucket.min_score, bucket.max_score)
        frames.append(
            pd.DataFrame(
                {
                    "tenant_id": list(tenant_ids),
                    "bucket_order": order,
                    "label": bucket.label,
                    "min_score": bucket.min_score,
                    "max_score": bucket.max_score,
                    "customer_count": _count_by_tenant(active[in_bucket], tenant_ids),
                }
            )
        )
    return pd.concat(frames).sort_values(["tenant_id", "bucket_order"], ignore_index=True)


def churn_risk_overview_rows(scores: pd.DataFrame, tenant_ids: Sequence[str]) -> pd.DataFrame:
    """One row per tenant with the critical/high/medium/low/total counts of ACTIVE customers."""
    active = scores[scores["status"] == COUNTED_STATUS]
    overview = pd.DataFrame({"tenant_id": list(tenant_ids)})
    for band in CHURN_RISK_BANDS:
        in_band = band.contains(active["churn_risk_score"])
        overview[band.name] = _count_by_tenant(active[in_band], tenant_ids)
    overview["total"] = overview[[band.name for band in CHURN_RISK_BANDS]].sum(axis=1)
    return overview


def _count_by_tenant(rows: pd.DataFrame, tenant_ids: Sequence[str]) -> list[int]:
    if CUSTOMERS in rows:
        counts = rows.groupby("tenant_id")[CUSTOMERS].sum()
    else:
        counts = rows.groupby("tenant_id").size()
    return [int(counts.get(tenant_id, 0)) for tenant_id in tenant_ids]
