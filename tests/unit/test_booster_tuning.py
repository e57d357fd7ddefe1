"""Choosing the booster's settings on the training days alone (model/tuning.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from crm_scoring.model.estimators import BoosterSettings
from crm_scoring.model.training import train_churn_models
from crm_scoring.model.tuning import tuned_booster
from tests.unit.churn_frames import CONFIG, MONTH_STARTS, SIGNAL, synthetic

# One stump (a single split, one round) against the default: on churn that rises smoothly with
# the silence, the stump can only tell two groups apart, so the default ranks better.
STUMP = {"num_boost_round": 1, "num_leaves": 2}


def test_the_choice_reads_only_training_days_h_apart_and_keeps_the_best() -> None:
    config = replace(CONFIG, booster_candidates=(STUMP, {}))
    (scope,) = train_churn_models(synthetic({"acme": 1500}), config)
    tuning = scope.parameters["tuning"]
    # Training days Jan 1 .. Aug 1 (churn_frames); the newest 2 of them judge: Jul 1, Aug 1;
    # fitted on those on or before Jul 1 - 60 days = May 2: Jan 1 .. May 1. The validation
    # days (Oct 1 .. Dec 1) and the gap (Sep 1, Jun 1 inside) are read by neither.
    assert tuning["inner_training_days"] == [day.isoformat() for day in MONTH_STARTS[:5]]
    assert tuning["inner_validation_days"] == ["2025-07-01", "2025-08-01"]
    stump_auc, default_auc = tuning["inner_auc"]
    assert default_auc > stump_auc
    assert tuning["chosen"] == 1
    assert scope.parameters["lightgbm"]["num_boost_round"] == BoosterSettings().num_boost_round
    assert scope.parameters["lightgbm"]["num_leaves"] == BoosterSettings().num_leaves


def test_the_stored_model_is_fitted_with_the_chosen_settings() -> None:
    seven_leaves = {"num_leaves": 7, "min_data_in_leaf": 200}
    config = replace(CONFIG, booster_candidates=(STUMP, seven_leaves))
    (scope,) = train_churn_models(synthetic({"acme": 1500}), config)
    assert scope.parameters["tuning"]["chosen"] == 1
    text = scope.model.booster.model_text
    assert "[num_leaves: 7]" in text and "[min_data_in_leaf: 200]" in text
    assert text.count("Tree=") == BoosterSettings().num_boost_round  # the stump's 1 round not kept


def test_too_few_training_days_keep_the_first_candidate_and_say_why() -> None:
    days = [date(2025, 1, 1), date(2025, 2, 1)]  # 31 days apart: no inner split 60 days apart
    tuning = tuned_booster(
        synthetic({"acme": 100}, days=days)[[SIGNAL]].to_numpy(dtype=float),
        synthetic({"acme": 100}, days=days)["churned"].to_numpy(),
        [day for day in days for _ in range(100)],
        [SIGNAL],
        base=BoosterSettings(),
        candidates=(STUMP, {}),
        horizon_days=60,
        inner_validation_day_count=1,
        seed=7,
    )
    assert tuning.chosen.num_boost_round == 1
    assert tuning.record["why"].startswith("not tuned: no labelled day on or before 2024-12-03")
