"""EngagementScoringService, each threshold and its neighbours, from the specification's text."""

import numpy as np
import pytest

from crm_scoring.rules import engagement


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (np.nan, 0),  # no lastActivityAt
        (0, 100),
        (7, 100),
        (8, 80),
        (14, 80),
        (15, 60),
        (30, 60),
        (31, 40),
        (60, 40),
        (61, 20),
        (90, 20),
        (91, 0),
        (400, 0),
    ],
)
def test_recency(days: float, expected: int) -> None:
    assert engagement.recency_score([days])[0] == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 0), (1, 20), (2, 40), (4, 40), (5, 60), (9, 60), (10, 80), (19, 80), (20, 100), (500, 100)],
)
def test_frequency(count: int, expected: int) -> None:
    assert engagement.frequency_score([count])[0] == expected


@pytest.mark.parametrize(
    ("ltv", "expected"),
    [
        (np.nan, 0),
        (-10, 0),
        (0, 0),
        (4999.99, 0),
        (5000, 20),
        (9999, 20),
        (10000, 40),
        (19999, 40),
        (20000, 60),
        (49999, 60),
        (50000, 80),
        (99999.5, 80),
        (100000, 100),
    ],
)
def test_monetary(ltv: float, expected: int) -> None:
    assert engagement.monetary_score([ltv])[0] == expected


def test_breadth_counts_channels() -> None:
    scores = engagement.breadth_score(
        [False, True, True, True, True],
        [False, False, True, True, True],
        [False, False, False, True, True],
        [False, False, False, False, True],
    )
    assert list(scores) == [0, 25, 50, 75, 100]


@pytest.mark.parametrize(
    ("sent", "opened", "clicked", "expected"),
    [
        (0, 0, 0, 50),  # neutral without campaigns
        (0, 3, 1, 50),  # opens without sends are still "no campaigns sent"
        (4, 0, 0, 0),
        (4, 3, 1, 54),  # 0.75*50 + (1/3)*50 = 54.17
        (4, 2, 1, 50),  # 25 + 25
        (3, 1, 0, 17),  # 16.67
        (8, 1, 0, 6),  # 6.25 -> 6
        (8, 3, 0, 19),  # 18.75 -> 19
        (4, 0, 2, 50),  # clicks / max(opened, 1) = 2 -> capped at 1 (deliberate fix): 0 + 50
        (2, 5, 0, 50),  # opened > sent: open rate capped at 1 (deliberate fix)
        (10, 10, 10, 100),
    ],
)
def test_depth(sent: int, opened: int, clicked: int, expected: int) -> None:
    assert engagement.depth_score([sent], [opened], [clicked])[0] == expected


def test_depth_with_clicks_but_no_opens_uses_one_as_divisor() -> None:
    # 0/4*50 + min(1/1, 1)*50 = 50
    assert engagement.depth_score([4], [0], [1])[0] == 50


def test_weighted_sum_rounds_halves_up() -> None:
    # 100*.30 + 40*.25 + 0*.20 + 50*.15 + 50*.10 = 52.5 -> 53
    assert engagement.engagement_score([100], [40], [0], [50], [50])[0] == 53
    # 100*.30 + 40*.25 + 80*.20 + 50*.15 + 54*.10 = 68.9 -> 69
    assert engagement.engagement_score([100], [40], [80], [50], [54])[0] == 69
    assert engagement.engagement_score([100], [100], [100], [100], [100])[0] == 100
    assert engagement.engagement_score([0], [0], [0], [0], [0])[0] == 0
