"""The rule score against the model (model/comparison.py): which days count as out of time, the
ROC points and reliability bins the charts draw, and the chart itself; figures by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from crm_scoring.charts import ComparisonChart, comparison_pictures, render_comparison_png
from crm_scoring.model.comparison import MODEL, RULE, compare, in_sample_reason, reliability, roc_points

TRAINING = [date(2025, 6, 1), date(2025, 7, 1)]
VALIDATION = [date(2025, 10, 1), date(2025, 11, 1)]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (
            date(2025, 7, 1),
            "2025-07-01 is not after the model's training and validation days (up to 2025-11-01)",
        ),
        (
            date(2025, 11, 1),
            "2025-11-01 is not after the model's training and validation days (up to 2025-11-01)",
        ),
        # after the days, but the newest validation day's label read events up to 2025-12-31
        (
            date(2025, 12, 30),
            "the model learned from events up to 2025-12-31, after 2025-12-30: in sample, not reported",
        ),
        (date(2025, 12, 31), None),  # learned_until <= day: what churn_predictions allows too
        (date(2026, 3, 15), None),
    ],
)
def test_only_days_after_everything_the_model_learned_from_are_out_of_time(day, expected) -> None:
    assert in_sample_reason(day, TRAINING, VALIDATION, 60) == expected


def test_roc_points_step_per_tied_group() -> None:
    # scores 3, 2, 2, 1 with outcomes churned, churned, stayed, stayed:
    # group 3: tp 1/2; group 2 (one of each): tp 2/2, fp 1/2; group 1: fp 2/2
    fpr, tpr = roc_points(np.array([3.0, 2.0, 2.0, 1.0]), np.array([True, True, False, False]))
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    # one class only: the diagonal
    assert [p.tolist() for p in roc_points(np.array([1.0]), np.array([False]))] == [[0.0, 1.0], [0.0, 1.0]]


def test_reliability_bins_are_the_ece_bins() -> None:
    # 0.05 and 0.08 in bin 0 (1 of 2 churned), 0.95 and 1.0 in the last bin (both churned)
    bins = reliability(np.array([0.05, 0.08, 0.95, 1.0]), np.array([True, False, True, True]))
    assert bins["predicted"].tolist() == pytest.approx([0.065, 0.975])
    assert bins["observed"].tolist() == [0.5, 1.0]
    assert bins["customers"].tolist() == [2, 2]


def rows() -> pd.DataFrame:
    """Churners a, c, f. Rule 50, 50, 10, 20, 30, 40; the model ranks a, c, f first."""
    return pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "churned": [True, False, True, False, False, True],
            "churn_risk_score": [50, 50, 10, 20, 30, 40],
            "churn_probability": [0.9, 0.1, 0.8, 0.2, 0.3, 0.5],
            "churn_rank": [1, 6, 2, 5, 4, 3],
        }
    )


def test_both_scorers_on_the_same_customers() -> None:
    comparison = compare(rows(), budget_fraction=0.5, replicates=50)
    assert (comparison.customers, comparison.churned) == (6, 3)
    # rule AUC: churner 50 vs stayers 50, 20, 30 -> 0.5 + 1 + 1; 10 -> 0; 40 -> 0 + 1 + 1: 4.5 / 9
    assert comparison.figures[RULE]["auc"].value == pytest.approx(0.5)
    assert comparison.figures[MODEL]["auc"].value == pytest.approx(1.0)
    # budget 50% = 3 places: the model's top 3 are the 3 churners; the rule's a and b (50, tied:
    # one churner in 2 places) then f (40): 2 of 3
    assert comparison.figures[MODEL]["recall_at_budget"].value == pytest.approx(1.0)
    assert comparison.figures[RULE]["recall_at_budget"].value == pytest.approx(2 / 3)
    # model Brier: (.01 + .01 + .04 + .04 + .09 + .25) / 6
    assert comparison.figures[MODEL]["brier"].value == pytest.approx(0.44 / 6)
    assert comparison.figures[RULE]["brier"].value is not None  # the cross-fitted calibration's


def test_the_chart_is_a_png_for_the_largest_tenant_days_only() -> None:
    comparison = compare(rows(), budget_fraction=0.05, replicates=10)

    def chart(tenant: str, customers: int) -> ComparisonChart:
        return ComparisonChart(
            as_of_date="2026-05-14",
            tenant_id=tenant,
            evaluated_as_of_date="2026-03-15",
            total=customers,
            roc={s: roc_points(comparison.ranking[s], comparison.outcomes) for s in (RULE, MODEL)},
            auc={RULE: 0.5, MODEL: None},
            reliability={
                s: reliability(comparison.probabilities[s], comparison.outcomes) for s in (RULE, MODEL)
            },
        )

    assert render_comparison_png(chart("t$x$", 6)).startswith(b"\x89PNG")
    pictures = comparison_pictures([chart("small", 6), chart("big", 60)], limit=1)
    assert pictures[("2026-05-14", "big")].startswith("![ROC and calibration](data:image/png;base64,")
    assert pictures[("2026-05-14", "small")].startswith("drawn only for the 1 largest tenant-days")
