"""ChurnRiskService, each branch and threshold, from the specification's text."""

import numpy as np
import pytest

from crm_scoring.rules import churn


@pytest.mark.parametrize(
    ("count_30d", "count_90d", "days_since", "expected"),
    [
        # no recent activity: by days since the last one
        (0, 0, np.nan, 100),
        (0, 5, 91, 100),
        (0, 5, 90, 80),
        (0, 5, 61, 80),
        (0, 5, 60, 60),
        (0, 5, 31, 60),
        (0, 5, 30, 40),
        (0, 0, 30, 40),
        # only recent activity
        (3, 3, 1, 0),
        # decline = (older/2 - recent) / (older/2)
        (1, 9, 1, 100),  # older 8, expected 4: (4-1)/4 = 0.75
        (2, 10, 1, 75),  # (4-2)/4 = 0.50
        (3, 11, 1, 50),  # (4-3)/4 = 0.25
        (1, 4, 1, 50),  # older 3: (1.5-1)/1.5 = 0.33
        (3, 10, 1, 25),  # older 7: (3.5-3)/3.5 = 0.14
        (4, 12, 1, 0),  # (4-4)/4 = 0
        (1, 3, 1, 0),  # older 2: (1-1)/1 = 0
        (9, 12, 1, 0),  # rising activity: negative decline
    ],
)
def test_activity_decline(count_30d: int, count_90d: int, days_since: float, expected: int) -> None:
    assert churn.activity_decline_risk([count_30d], [count_90d], [days_since])[0] == expected


@pytest.mark.parametrize(
    ("failed", "received", "expected"),
    [
        (0, 0, 0),
        (0, 9, 0),
        (1, 0, 80),
        (1, 1, 40),
        (2, 1, 80),
        (2, 2, 40),
        (2, 5, 40),
        (3, 0, 100),
        (3, 9, 100),
    ],
)
def test_payment(failed: int, received: int, expected: int) -> None:
    assert churn.payment_risk([failed], [received])[0] == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [(np.nan, 50), (0, 0), (14, 0), (15, 40), (30, 40), (31, 70), (60, 70), (61, 100), (-3, 0)],
)
def test_engagement_drop(days: float, expected: int) -> None:
    assert churn.engagement_drop_risk([days])[0] == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("downgrade", 80), ("upgrade", 0), (None, 0), ("Downgrade", 0), ("", 0)],
)
def test_tier_downgrade(reason: str | None, expected: int) -> None:
    assert churn.tier_downgrade_risk(np.array([reason], dtype=object))[0] == expected


@pytest.mark.parametrize(("complaints", "expected"), [(0, 0), (1, 60), (2, 60), (3, 100), (10, 100)])
def test_complaints(complaints: int, expected: int) -> None:
    assert churn.complaint_risk([complaints])[0] == expected


def test_weighted_sum() -> None:
    # 25*.35 + 40*.25 + 40*.20 + 80*.10 + 60*.10 = 40.75 -> 41
    assert churn.churn_risk_score([25], [40], [40], [80], [60])[0] == 41
    # 80*.35 + 100*.25 + 100*.20 + 80*.10 + 100*.10 = 91
    assert churn.churn_risk_score([80], [100], [100], [80], [100])[0] == 91
    # the maximum the specification can produce: 35 + 25 + 20 + 8 + 10 = 98
    assert churn.churn_risk_score([100], [100], [100], [80], [100])[0] == 98
    # 50*.35 + 0 + 50*.20 = 27.5 -> 28 (half up)
    assert churn.churn_risk_score([50], [0], [50], [0], [0])[0] == 28
