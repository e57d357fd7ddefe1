"""Backtest metrics on small populations whose figures are worked out by hand in the comments."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_scoring.rules.backtest import (
    auc,
    backtest_figures,
    calibration,
    churners_in_top,
    lift,
    lift_curve,
    precision_recall,
    tenant_backtests,
)

T, F = True, False
# Ten distinct scores; churners at 90, 80 and 50: 3 of 10, overall churn rate 0.3.
RANKED = [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
RANKED_CHURNED = [T, T, F, F, T, F, F, F, F, F]


def test_auc_counts_pairs_a_churner_outscores() -> None:
    # churners {90, 70}, stayers {80, 60}: 90>80, 90>60, 70<80, 70>60 -> 3 of 4 pairs
    assert auc([90, 80, 70, 60], [T, F, T, F]) == 0.75


def test_auc_gives_tied_pairs_half_credit() -> None:
    # churners {50, 50}, stayers {50, 10}: each churner ties 50 (0.5) and beats 10 (1) -> 3 / 4.
    # Ranks: 10 -> 1, the three 50s -> (2+3+4)/3 = 3; (3 + 3 - 2*3/2) / (2*2) = 0.75.
    assert auc([50, 50, 50, 10], [T, F, T, F]) == 0.75
    assert auc([40, 40, 40], [T, F, F]) == 0.5  # all tied: no information


def test_auc_of_the_ranked_population() -> None:
    # stayers 70, 60, 40, 30, 20, 10, 0 (7); churners beat: 90 -> 7, 80 -> 7, 50 -> 5 (40..0)
    # -> 19 of 21 pairs
    assert auc(RANKED, RANKED_CHURNED) == pytest.approx(19 / 21)


@pytest.mark.parametrize(
    ("scores", "churned"), [([80, 20], [T, T]), ([80, 20], [F, F]), ([], [])], ids=["all", "none", "empty"]
)
def test_auc_is_undefined_with_one_class_empty(scores, churned) -> None:
    assert auc(scores, churned) is None


def test_precision_and_recall_at_the_threshold_include_the_threshold() -> None:
    # alerted >= 80: 95, 85, 80 (3); churners among them 95, 80 (2); churners 95, 80, 79 (3)
    alerted, precision, recall = precision_recall([95, 85, 80, 79, 20], [T, F, T, T, F], 80)
    assert alerted == 3
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)


def test_precision_is_undefined_when_nobody_is_alerted_recall_when_nobody_churned() -> None:
    assert precision_recall([50, 20], [T, F], 80) == (0, None, 0.0)
    assert precision_recall([90, 20], [F, F], 80) == (1, 0.0, None)


def test_top_decile_of_distinct_scores() -> None:
    # top 10% of 10 = the 90 (a churner): churn rate 1 / overall 0.3 = 3.33
    assert churners_in_top(RANKED, RANKED_CHURNED, 1) == 1
    assert lift(RANKED, RANKED_CHURNED, 1) == pytest.approx(1 / 0.3)
    # top 30% = 90, 80, 70: 2 churners, rate 2/3 / 0.3 = 2.22
    assert lift(RANKED, RANKED_CHURNED, 3) == pytest.approx((2 / 3) / 0.3)


def test_top_decile_shares_the_customers_tied_at_the_cut_in_proportion() -> None:
    # 20 customers, top decile = 2 places; three tie at 95 (2 of them churned), so the two
    # places hold 2 * 2/3 = 4/3 churners. Below, 2 churners among 17 at 10: 4 of 20 overall.
    # lift = (4/3 / 2) / (4 / 20) = (2/3) / 0.2 = 3.33
    scores = [95, 95, 95] + [10] * 17
    churned = [T, T, F] + [T, T] + [F] * 15
    assert churners_in_top(scores, churned, 1) == pytest.approx(4 / 3)
    assert lift(scores, churned, 1) == pytest.approx(10 / 3)


def test_top_decile_takes_everyone_above_the_cut_then_a_share_of_the_tie() -> None:
    # 30 customers, top decile = 3 places: the 99 (churned), then 2 of the four at 90 (1 of 4
    # churned) -> 1 + 2 * 1/4 = 1.5 churners. Overall 3 of 30 = 0.1. lift = (1.5 / 3) / 0.1 = 5
    scores = [99, 90, 90, 90, 90] + [5] * 25
    churned = [T, T, F, F, F] + [T] + [F] * 24
    assert churners_in_top(scores, churned, 1) == pytest.approx(1.5)
    assert lift(scores, churned, 1) == pytest.approx(5.0)


def test_a_fraction_of_a_customer_when_the_decile_is_not_whole() -> None:
    # 7 customers: top decile = 0.7 places, all taken by the unique top score 91 (churned);
    # rate 0.7 / 0.7 = 1 over overall 2/7 -> lift 3.5
    scores = [91, 45, 41, 18, 10, 0, 0]
    churned = [T, F, T, F, F, F, F]
    assert churners_in_top(scores, churned, 1) == pytest.approx(0.7)
    assert lift(scores, churned, 1) == pytest.approx(3.5)


def test_lift_is_undefined_without_churners() -> None:
    assert lift([90, 10], [F, F], 1) is None


def test_lift_curve_accumulates_churners_by_decile() -> None:
    # churners at ranks 1, 2 and 5 of 10: captured 1, 2, 2, 2, 3, 3, ... 3
    curve = lift_curve(RANKED, RANKED_CHURNED).set_index("decile")
    assert curve["churners_captured"].tolist() == [1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    assert curve["customers"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert curve.loc[2, "capture_rate"] == pytest.approx(2 / 3)
    # half the customers hold all 3 churners: (3 / 5) / 0.3 = 2; everyone: lift 1
    assert curve.loc[5, "lift"] == pytest.approx(2.0)
    assert curve.loc[10, "lift"] == pytest.approx(1.0)


def test_calibration_by_churn_risk_band_edges_included() -> None:
    # low 0-29: 0 F, 29 T -> 2, 1, 0.5, mean 14.5; medium 30-59: 30 F, 59 F -> 2, 0, 0, 44.5;
    # high 60-79: 60 T, 79 T -> 2, 2, 1, 69.5; critical 80-100: 80 T, 100 F -> 2, 1, 0.5, 90
    table = calibration([0, 29, 30, 59, 60, 79, 80, 100], [F, T, F, F, T, T, T, F])
    assert table.to_dict("list") == {
        "band_order": [0, 1, 2, 3],
        "band": ["low", "medium", "high", "critical"],
        "min_score": [0, 30, 60, 80],
        "max_score": [29, 59, 79, 100],
        "customers": [2, 2, 2, 2],
        "churned": [1, 0, 2, 1],
        "churn_rate": [0.5, 0.0, 1.0, 0.5],
        "mean_score": [14.5, 44.5, 69.5, 90.0],
    }


def test_calibration_keeps_empty_bands_with_undefined_rates() -> None:
    table = calibration([5, 12], [T, F]).set_index("band")
    assert table.loc["high", "customers"] == 0 and table.loc["critical", "churned"] == 0
    assert pd.isna(table.loc["high", "churn_rate"]) and pd.isna(table.loc["high", "mean_score"])
    assert table.loc["low", "churn_rate"] == 0.5


def test_figures_of_an_empty_population_are_undefined_not_zero() -> None:
    figures = backtest_figures([], [], 80)
    assert (figures.customers, figures.churned, figures.alerted) == (0, 0, 0)
    assert figures.churn_rate is None and figures.auc is None
    assert figures.precision_at_threshold is None and figures.recall_at_threshold is None
    assert figures.top_decile_lift is None


def test_tenants_are_evaluated_separately() -> None:
    outcomes = pd.DataFrame(
        {
            "tenant_id": ["b", "a", "b", "a", "a"],
            "churn_risk_score": [90, 85, 20, 70, 10],
            "churned": [T, F, F, T, T],
        }
    )
    result = tenant_backtests(outcomes, {"a": 70, "b": 80})  # each tenant its own threshold
    figures = result.figures.set_index("tenant_id")
    assert list(figures.index) == ["a", "b"]
    assert figures["alert_threshold"].to_dict() == {"a": 70, "b": 80}
    # a: churners {70, 10}, stayer 85 -> no pair won -> AUC 0; alerted at >= 70: 85 (stayer) and
    # 70 (churner) -> precision 1/2; churners alerted 1 of 2 -> recall 1/2
    assert figures.loc["a", "auc"] == 0.0
    assert figures.loc["a", "alerted"] == 2
    assert figures.loc["a", "precision_at_threshold"] == 0.5
    assert figures.loc["a", "recall_at_threshold"] == 0.5
    assert figures.loc["a", "churn_rate"] == pytest.approx(2 / 3)
    # b: churner 90 beats stayer 20 -> AUC 1; alerted 90 -> precision 1, recall 1
    assert figures.loc["b", "auc"] == 1.0
    assert (figures.loc["b", "precision_at_threshold"], figures.loc["b", "recall_at_threshold"]) == (1, 1)
    assert result.calibration.groupby("tenant_id").size().to_dict() == {"a": 4, "b": 4}
    assert result.lift_curve.groupby("tenant_id").size().to_dict() == {"a": 10, "b": 10}


def test_no_outcomes_give_empty_tables_with_their_columns() -> None:
    result = tenant_backtests(pd.DataFrame({"tenant_id": [], "churn_risk_score": [], "churned": []}), {})
    assert result.figures.empty and "auc" in result.figures.columns
    assert result.calibration.empty and "churn_rate" in result.calibration.columns


def test_undefined_figures_are_explained_in_words() -> None:
    from crm_scoring.rules.backtest import backtest_figures, why_undefined

    nobody_churned = backtest_figures([10, 90], [False, False], 80)
    assert why_undefined(nobody_churned, 80) == (
        "no evaluated customer churned in the window, so AUC, recall and lift are undefined"
    )
    all_churned_none_alerted = backtest_figures([10, 20], [True, True], 80)
    assert why_undefined(all_churned_none_alerted, 80) == (
        "every evaluated customer churned, so AUC is undefined; "
        "no customer reached the alert threshold 80, so precision is undefined"
    )
    assert why_undefined(backtest_figures([], [], 80), 80) == (
        "nobody to evaluate: no customer was ACTIVE on the scored day"
    )
    assert why_undefined(backtest_figures([10, 90], [False, True], 80), 80) is None
