"""JavaScript Math.round / Math.floor semantics, values checked against the ECMAScript definition."""

import math

import numpy as np
import pytest

from crm_scoring.rules.rounding import MS_PER_DAY, js_round, whole_days_since


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (52.5, 53),  # halves go up; Python's round() gives 52
        (53.5, 54),
        (0.5, 1),
        (-2.5, -2),  # towards +infinity, not away from zero
        (-2.6, -3),
        (68.9, 69),
        (40.75, 41),
        (0.49999999999999994, 0),  # floor(x + 0.5) would wrongly give 1
        (99.49999999999999, 99),
        (100.0, 100),
    ],
)
def test_js_round_matches_math_round(value: float, expected: int) -> None:
    assert js_round([value])[0] == expected


def test_js_round_differs_from_python_round_on_even_halves() -> None:
    values = np.array([0.5, 2.5, 52.5])
    assert list(js_round(values)) == [1, 3, 53]
    assert [round(v) for v in values] == [0, 2, 52]


def test_day_count_floors_partial_days() -> None:
    now = 1_000 * MS_PER_DAY
    assert whole_days_since([now - MS_PER_DAY], now)[0] == 1
    assert whole_days_since([now - MS_PER_DAY + 1], now)[0] == 0
    assert whole_days_since([now - 7 * MS_PER_DAY - 1], now)[0] == 7
    # A timestamp after "now" gives a negative count, as Date arithmetic would.
    assert whole_days_since([now + 1], now)[0] == -1
    assert math.isnan(whole_days_since([np.nan], now)[0])
