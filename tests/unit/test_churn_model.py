"""The learned churn model on synthetic frames whose answer is known: churn drawn from a logistic
function of one feature (days since the last activity), beside a feature that is pure noise.
Small metric examples are worked out by hand in the comments."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from crm_scoring.model.drivers import phrase, top_drivers
from crm_scoring.model.estimators import LogisticBaseline
from crm_scoring.model.metrics import evaluate, expected_calibration_error
from crm_scoring.model.split import NotEnoughHistory, labelled_month_ends, time_split
from crm_scoring.model.training import (
    NO_MODEL,
    PER_TENANT,
    POOLED,
    ChurnModel,
    decide_scopes,
    feature_columns,
    naive_scores,
    own_type_columns,
    pooled_labels,
    train_churn_models,
    train_churn_models_by_tenant,
)
from crm_scoring.settings import (
    CHURN_MODEL_POPULATION_ENV,
    ConfigError,
    churn_model_population,
    load_churn_model_config,
)
from tests.unit.churn_frames import CONFIG, MONTH_STARTS, NOISE, SIGNAL, synthetic


@pytest.fixture(scope="module")
def one_tenant() -> pd.DataFrame:
    return synthetic({"acme": 3000})


@pytest.fixture(scope="module")
def trained(one_tenant: pd.DataFrame):
    (scope,) = train_churn_models(one_tenant, CONFIG)
    return scope


# --- split ---


def test_split_keeps_a_horizon_between_training_and_validation() -> None:
    split = time_split(MONTH_STARTS, horizon_days=60, validation_day_count=3)
    assert split.validation_days == (date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1))
    assert split.training_days == tuple(MONTH_STARTS[:8])  # Jan 1 .. Aug 1; Sep 1 left out
    assert split.gap_days == 61
    for trained_day in split.training_days:
        for validated_day in split.validation_days:
            assert (validated_day - trained_day).days >= 60


def test_split_with_daily_days_leaves_exactly_the_horizon() -> None:
    days = [date(2025, 1, 1) + timedelta(days=offset) for offset in range(100)]
    split = time_split(days, horizon_days=60, validation_day_count=5)
    # validation Apr 6..Apr 10 (offsets 95..99); training up to offset 95 - 60 = 35
    assert split.validation_days[0] == date(2025, 1, 1) + timedelta(days=95)
    assert split.training_days[-1] == date(2025, 1, 1) + timedelta(days=35)
    assert split.gap_days == 60


def test_split_refuses_when_no_day_is_a_horizon_before_validation() -> None:
    with pytest.raises(NotEnoughHistory, match="60 days"):
        time_split(MONTH_STARTS[:3], horizon_days=60, validation_day_count=2)
    with pytest.raises(NotEnoughHistory, match="1 labelled day"):
        time_split(MONTH_STARTS[:1], horizon_days=60, validation_day_count=1)


# --- metrics by hand ---


def test_ranking_figures_by_hand() -> None:
    # churners {4, 2}, stayers {3, 1}: 4>3, 4>1, 2<3, 2>1 -> AUC 3/4.
    # Highest first 4(c) 3(s) 2(c) 1(s): precision at the churners 1/1 and 2/3 -> AP = (1 + 2/3) / 2.
    figures = evaluate([1, 2, 3, 4], [False, True, False, True], ["a", "b", "c", "d"], replicates=0)
    assert figures["auc"].value == pytest.approx(0.75)
    assert figures["pr_auc"].value == pytest.approx(5 / 6)
    assert figures["brier"].value is None  # no probabilities given


def test_lift_and_recall_at_budget_by_hand() -> None:
    # 20 customers, scores 20..1, churners at 20, 15, 10, 5 (4 of 20, rate 0.2).
    # Top decile = the 2 highest (20, 19): 1 churner -> rate 0.5 -> lift 2.5.
    # Budget 5% = the single highest: 1 of 4 churners -> recall 0.25.
    scores = list(range(20, 0, -1))
    churned = [score % 5 == 0 for score in scores]
    figures = evaluate(scores, churned, list(range(20)), budget_fraction=0.05, replicates=0)
    assert figures["top_decile_lift"].value == pytest.approx(2.5)
    assert figures["recall_at_budget"].value == pytest.approx(0.25)


def test_top_decile_shares_a_tied_group() -> None:
    # 10 customers all tied: the top decile (1 place) holds the group's rate 3/10 -> lift 1.
    figures = evaluate([5] * 10, [True] * 3 + [False] * 7, list(range(10)), replicates=0)
    assert figures["top_decile_lift"].value == pytest.approx(1.0)
    assert figures["auc"].value == pytest.approx(0.5)


def test_expected_calibration_error_by_hand() -> None:
    # 10 bins. 0.05 -> bin 0: |0 - 0.05| = 0.05; 0.15, 0.15 -> bin 1: |1 - 0.30| = 0.70;
    # 0.95 -> bin 9: |1 - 0.95| = 0.05. (0.05 + 0.70 + 0.05) / 4 = 0.2
    assert expected_calibration_error([0.05, 0.15, 0.15, 0.95], [False, True, False, True]) == pytest.approx(
        0.2
    )
    # a probability of exactly 1 belongs to the last bin
    assert expected_calibration_error([1.0, 0.0], [True, False]) == pytest.approx(0.0)


def test_brier_by_hand() -> None:
    # ((0.2 - 0)^2 + (0.6 - 1)^2) / 2 = (0.04 + 0.16) / 2 = 0.1
    figures = evaluate([0.2, 0.6], [False, True], ["a", "b"], probabilities=[0.2, 0.6], replicates=0)
    assert figures["brier"].value == pytest.approx(0.1)


def _auc_interval(rows: int):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=rows)
    churned = rng.random(rows) < 1 / (1 + np.exp(-(scores - 1.5)))
    return evaluate(scores, churned, np.arange(rows), replicates=300, seed=11)["auc"]


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_customers() -> None:
    small, large = _auc_interval(400), _auc_interval(4000)
    for estimate in (small, large):
        assert estimate.low < estimate.value < estimate.high
    assert large.high - large.low < (small.high - small.low) / 2  # ~ 1/sqrt(10) of the width


def test_bootstrap_resamples_customers_not_rows() -> None:
    # The same 200 customers seen on 1 day or on 5 identical days carry the same information:
    # resampling customers gives the 5-day copy the same interval, resampling rows would narrow it.
    rng = np.random.default_rng(5)
    scores = rng.normal(size=200)
    churned = rng.random(200) < 1 / (1 + np.exp(-scores))
    once = evaluate(scores, churned, np.arange(200), replicates=200, seed=2)["auc"]
    repeated = evaluate(
        np.tile(scores, 5), np.tile(churned, 5), np.tile(np.arange(200), 5), replicates=200, seed=2
    )["auc"]
    assert repeated.value == pytest.approx(once.value)
    assert repeated.high - repeated.low == pytest.approx(once.high - once.low)


def test_a_figure_without_churners_is_undefined() -> None:
    figures = evaluate([0.1, 0.2], [False, False], ["a", "b"], probabilities=[0.1, 0.2], replicates=20)
    assert figures["auc"].value is None and figures["auc"].low is None
    assert figures["recall_at_budget"].value is None
    assert figures["brier"].value == pytest.approx((0.01 + 0.04) / 2)


# --- training ---


def test_model_ranks_by_the_signal_and_beats_noise(trained) -> None:
    metrics = trained.metrics["acme"]
    assert trained.kind == PER_TENANT
    model_auc = metrics["model"]["auc"]
    # logistic slope 0.08 per day over a gamma(2, 10) spread: a true AUC well above 0.7
    assert model_auc.value > 0.7
    assert model_auc.low < model_auc.value < model_auc.high
    assert metrics["churners"] > 200


def test_model_beats_the_noise_feature_on_the_validation_days(one_tenant, trained) -> None:
    validation = one_tenant[
        pd.to_datetime(one_tenant["as_of_date"]).dt.date.isin(trained.split.validation_days)
    ]
    noise = evaluate(validation[NOISE], validation["churned"], validation["customer_id"], replicates=100)
    assert noise["auc"].high < trained.metrics["acme"]["model"]["auc"].low
    assert abs(noise["auc"].value - 0.5) < 0.05


def test_validation_counts_churned_customer_days_and_distinct_churners(one_tenant, trained) -> None:
    validation = one_tenant[
        pd.to_datetime(one_tenant["as_of_date"]).dt.date.isin(trained.split.validation_days)
    ]
    churned = validation[validation["churned"]]
    metrics = trained.metrics["acme"]
    assert metrics["churners"] == len(churned)
    assert metrics["churned_customers"] == len(set(churned["customer_id"]))
    # labels are drawn afresh each day, so some customers churn on two or three of the 3 days
    assert metrics["churned_customers"] < metrics["churners"]


def test_the_population_setting_defaults_to_at_risk_and_fails_closed(monkeypatch) -> None:
    monkeypatch.delenv(CHURN_MODEL_POPULATION_ENV, raising=False)
    assert churn_model_population() == "at_risk"
    assert load_churn_model_config().population == "at_risk"
    monkeypatch.setenv(CHURN_MODEL_POPULATION_ENV, "all_active")
    assert churn_model_population() == "all_active"
    # recorded with the model: the registry's parameters say whom its figures are on
    assert load_churn_model_config().as_dict()["population"] == "all_active"
    monkeypatch.setenv(CHURN_MODEL_POPULATION_ENV, "everyone")
    with pytest.raises(ConfigError, match="CRM_SCORING_CHURN_MODEL_POPULATION='everyone'"):
        churn_model_population()


def test_calibrated_probabilities_are_judged_out_of_fold_and_are_close(trained) -> None:
    figures = trained.metrics["acme"]["model"]
    assert figures["ece"].value <= 0.05
    # Brier of a useful model is below that of predicting the base rate, rate * (1 - rate)
    rate = trained.metrics["acme"]["churners"] / trained.metrics["acme"]["rows"]
    assert figures["brier"].value < rate * (1 - rate)


def test_training_uses_only_days_a_horizon_before_validation(trained) -> None:
    assert trained.split.training_days == tuple(MONTH_STARTS[:8])
    assert trained.parameters["training_rows"] == 8 * 3000
    assert trained.parameters["validation_rows"] == 3 * 3000


def test_training_is_deterministic_for_a_seed(one_tenant, trained) -> None:
    (again,) = train_churn_models(one_tenant, CONFIG)
    assert again.model.booster.model_text == trained.model.booster.model_text
    assert np.array_equal(again.model.predict(one_tenant), trained.model.predict(one_tenant))
    assert again.metrics["acme"]["model"]["auc"] == trained.metrics["acme"]["model"]["auc"]
    assert again.baseline == trained.baseline


def test_a_stored_model_predicts_the_same_probabilities(one_tenant, trained) -> None:
    text = trained.model.booster.model_text
    stored = json.loads(json.dumps(trained.model.calibration_json()))
    loaded = ChurnModel.from_serialized(text, stored)
    assert np.array_equal(loaded.predict(one_tenant), trained.model.predict(one_tenant))
    baseline = LogisticBaseline.from_json(json.loads(json.dumps(trained.baseline.to_json())))
    matrix = trained.model.matrix(one_tenant)
    assert np.array_equal(baseline.predict(matrix), trained.baseline.predict(matrix))
    assert "pickle" not in text  # LightGBM's own text format
    assert text.startswith("tree")


def test_drivers_name_the_signal_for_the_riskiest_customer(one_tenant, trained) -> None:
    probabilities = trained.model.predict(one_tenant)
    riskiest = one_tenant.iloc[[int(np.argmax(probabilities))]]
    (drivers,) = trained.model.drivers(riskiest)
    assert 1 <= len(drivers) <= 3
    assert drivers[0].startswith("more days since the last activity than typical (")


def test_profile_fields_read_from_todays_row_are_never_features() -> None:
    frame = synthetic({"acme": 50}, days=MONTH_STARTS[:2])
    frame["lifetime_value"] = frame["churned"] * 100.0  # would "predict" perfectly
    frame["churn_risk_score"] = 50
    assert feature_columns(frame) == [SIGNAL, NOISE]


def test_naive_predictors_rank_by_silence_and_by_fewer_activities() -> None:
    frame = pd.DataFrame({"days_since_last_activity": [5.0, np.nan, 30.0], "activity_count_30d": [4, 0, 1]})
    scores = naive_scores(frame)
    # never active: the longest silence of all; fewer activities: more risk
    assert np.argsort(scores["naive_days_since_last_activity"]).tolist() == [0, 2, 1]
    assert np.argsort(scores["naive_fewer_activities_30d"]).tolist() == [0, 2, 1]
    assert naive_scores(frame[["activity_count_30d"]]).keys() == {"naive_fewer_activities_30d"}


def test_the_naive_predictors_are_judged_beside_the_model(trained) -> None:
    figures = trained.metrics["acme"]
    # the synthetic churn is a function of the silence alone: the naive predictor that reads it
    # ranks about as well as the model (both well above chance), on the same rows
    naive = figures["naive_days_since_last_activity"]["auc"]
    assert naive.value > 0.7
    assert abs(naive.value - figures["model"]["auc"].value) < 0.02


def test_a_tenants_own_model_leaves_out_other_tenants_activity_types() -> None:
    rows = pd.DataFrame(
        {
            "type__LOGIN__count_30d": [0, 2],
            "type__PURCHASE__count_30d": [0, 0],  # another tenant's type: 0 on all its rows
            "type__APP_OPEN__count_7d": [np.nan, 0],
            "tenure_days": [0.0, 0.0],  # not a per-type count: kept even if constant
        }
    )
    assert own_type_columns(rows, list(rows.columns)) == ["type__LOGIN__count_30d", "tenure_days"]


# --- scope ---


def test_a_tenant_with_too_few_churners_is_pooled_or_gets_no_model() -> None:
    # big: ~3000 x 8 training days at ~15% churn; small: 40 customers of whom some churn;
    # tiny: 20 customers with churn so rare that it has fewer than 5 churners in training.
    frame = pd.concat(
        [
            synthetic({"big": 1000}, seed=1),
            synthetic({"small": 12}, seed=2),
            synthetic({"tiny": 20}, seed=3, intercept=-9.0),
        ],
        ignore_index=True,
    )
    decisions = {decision.tenant_id: decision for decision in decide_scopes(frame, CONFIG)}
    assert decisions["big"].kind == PER_TENANT
    small, tiny = decisions["small"], decisions["tiny"]
    assert 5 <= small.training_churners < 30
    assert small.kind == POOLED
    assert f"{small.training_churners} churners in the training range" in small.reason
    assert "fewer than 30 for a model of its own" in small.reason
    assert tiny.training_churners < 5
    assert tiny.kind == NO_MODEL
    assert "fewer than 5 to be served by the pooled model" in tiny.reason

    scopes = {scope.kind: scope for scope in train_churn_models(frame, CONFIG)}
    pooled = scopes[POOLED]
    assert pooled.tenant_ids == ("small",)
    assert pooled.trained_on == ("big", "small", "tiny")
    assert "tenant__training_churn_rate" in pooled.model.features
    assert pooled.metrics["small"]["rows"] == 3 * 12


def test_training_holds_one_models_rows_at_a_time_and_equals_training_on_the_whole_frame() -> None:
    frame = pd.concat(
        [synthetic({"big": 300, "other": 300}, seed=1), synthetic({"small": 12}, seed=2)], ignore_index=True
    )
    asked: list[set[str]] = []

    def load_rows(labels: pd.DataFrame) -> pd.DataFrame:
        asked.append(set(labels["tenant_id"]))
        return frame.loc[labels.index]

    labels = frame[["as_of_date", "tenant_id", "customer_id", "churned"]]
    config = replace(CONFIG, pooled_customers_per_other_tenant=100)
    by_tenant = train_churn_models_by_tenant(labels, load_rows, config)
    # one call per tenant with a model of its own, then one for the pooled model
    assert asked == [{"big"}, {"other"}, {"big", "other", "small"}]
    whole = train_churn_models(frame, config)
    assert [(s.kind, s.tenant_ids, s.model.booster.model_text) for s in by_tenant] == [
        (s.kind, s.tenant_ids, s.model.booster.model_text) for s in whole
    ]
    pooled = next(scope for scope in by_tenant if scope.kind == POOLED)
    # small's 12 customers on 8 training days, and 100 customers of each other tenant
    assert pooled.parameters["training_rows"] == (12 + 100 + 100) * 8


def test_the_pooled_model_takes_every_row_of_its_tenants_and_the_same_few_customers_of_the_others() -> None:
    labels = synthetic({"big": 50, "small": 3}, days=MONTH_STARTS[:4])
    chosen = pooled_labels(labels, ["small"], customers_per_other_tenant=10)
    assert (chosen["tenant_id"] == "small").sum() == 3 * 4
    big = chosen[chosen["tenant_id"] == "big"]
    # 10 of big's customers, each on all 4 days: a customer is sampled, not a row
    assert big.groupby("customer_id").size().tolist() == [4] * 10
    shuffled = labels.sample(frac=1.0, random_state=3)
    assert sorted(pooled_labels(shuffled, ["small"], 10)["customer_id"]) == sorted(chosen["customer_id"])
    assert len(pooled_labels(labels, ["small"], customers_per_other_tenant=0)) == 3 * 4


def test_no_pooled_model_when_all_tenants_together_have_too_few_churners() -> None:
    frame = synthetic({"a": 7, "b": 7}, seed=4)
    decisions = decide_scopes(frame, CONFIG)
    assert {decision.kind for decision in decisions} == {NO_MODEL}
    pooled_reason = [d.reason for d in decisions if d.training_churners >= 5]
    assert pooled_reason and "all tenants together" in pooled_reason[0]


def test_a_tenant_without_enough_labelled_days_gets_no_model_and_says_why() -> None:
    (decision,) = decide_scopes(synthetic({"new": 100}, days=MONTH_STARTS[-2:]), CONFIG)
    assert decision.kind == NO_MODEL
    assert "labelled day" in decision.reason


# --- drivers in words ---


def test_driver_phrases() -> None:
    assert phrase("type__EMAIL_SENT__count_30d", 2, 9) == (
        "fewer email sent activities in the last 30 days than typical (2 vs 9)"
    )
    assert (
        phrase("payment_failed_90d", 3, 0) == "more failed payments in the last 90 days than typical (3 vs 0)"
    )
    assert phrase("activity_count_30d", float("nan"), 4) == "no record of activities in the last 30 days"
    assert phrase("activity_decline_ratio", 0.5, 0.0) == (
        "fewer activities in the last 30 days than in the 60 before (0.5 vs typical 0)"
    )
    assert phrase("payment_overdue_ratio", 1.8, 0.5) == (
        "the next payment more overdue than usual for the customer (1.8 vs typical 0.5)"
    )
    assert phrase("tenure_days", 12, 200) == "fewer days as a customer than typical (12 vs 200)"
    assert phrase("tenant__training_churn_rate", 0.3, 0.1) == (
        "a higher past churn rate of the tenant than typical (0.3 vs 0.1)"
    )


def test_every_behaviour_feature_reads_as_words() -> None:
    import yaml

    from crm_scoring.model.drivers import SUBJECTS, subject
    from crm_scoring.settings import PROJECT_ROOT

    docs = PROJECT_ROOT / "dbt_project/models/marts/partitioned/_partitioned__models.yml"
    marts = yaml.safe_load(docs.read_text())
    (behaviour,) = [model for model in marts["models"] if model["name"] == "customer_behaviour_features"]
    keys = {"as_of_date", "tenant_id", "customer_id", "as_of"}
    documented = [column["name"] for column in behaviour["columns"] if column["name"] not in keys]
    assert len(documented) > 20
    assert [name for name in documented if name not in SUBJECTS] == []
    for name in [*documented, "type__EMAIL_SENT__count_7d", "type__app_open__count_90d"]:
        assert "_" not in subject(name), name
    assert subject("type__EMAIL_SENT__count_7d") == "email sent activities in the last 7 days"


def test_top_drivers_take_the_largest_positive_contributions_only() -> None:
    contributions = np.array([[0.1, -0.5, 0.7, 0.2], [-0.1, -0.2, -0.3, 0.05]])
    values = np.array([[1.0, 2.0, 30.0, 4.0], [1.0, 2.0, 3.0, 9.0]])
    names = ["complaints_90d", "activity_count_30d", "days_since_last_activity", "payment_failed_90d"]
    drivers = top_drivers(contributions, values, names, [0.0, 5.0, 10.0, 1.0])
    assert drivers[0] == [
        "more days since the last activity than typical (30 vs 10)",
        "more failed payments in the last 90 days than typical (4 vs 1)",
        "more complaints in the last 90 days than typical (1 vs 0)",
    ]
    assert drivers[1] == ["more failed payments in the last 90 days than typical (9 vs 1)"]


# --- labelled days and the asset's tables ---


def test_labelled_month_ends_are_those_whose_horizon_has_passed() -> None:
    # observed until 2026-05-30, H 60: newest labelled day 2026-03-31 (its window ends with May 30)
    assert labelled_month_ends(date(2026, 5, 30), horizon_days=60, count=3) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    # one day earlier, March 31's horizon is still open
    assert labelled_month_ends(date(2026, 5, 29), horizon_days=60, count=2) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
    ]


def test_asset_tables_name_each_tenants_model_and_figures(trained) -> None:
    from crm_scoring.defs.churn_model import figures_markdown, scopes_markdown

    none = train_churn_models(synthetic({"a|b": 10}, days=MONTH_STARTS[-2:]), CONFIG)
    tenants = scopes_markdown([trained, *none])
    # sorted by tenant id ("|" sorts after letters); a "|" in an id must not split the cell
    assert tenants.splitlines()[2].startswith("| acme | per_tenant | a model of its own: ")
    assert tenants.splitlines()[3].startswith("| a\\|b | none | no model: 2 labelled day(s)")
    figures = figures_markdown([trained, *none]).splitlines()
    # model, baseline and the naive days since the last activity (the frame has no rule score
    # and no activity count)
    assert len(figures) == 2 + 3
    assert figures[4].split(" | ")[2] == "days since last activity (naive)"
    auc = trained.metrics["acme"]["model"]["auc"]
    assert figures[2].startswith(
        f"| acme | 9000 rows, {trained.metrics['acme']['churners']} churned customer-days "
        f"({trained.metrics['acme']['churned_customers']} customers) | model "
        f"| {auc.value:.3f} [{auc.low:.3f}, {auc.high:.3f}] |"
    )


def test_the_model_trains_weekly_in_its_own_job_not_in_the_daily_scoring() -> None:
    import dagster as dg

    from crm_scoring.definitions import build_definitions
    from crm_scoring.defs.jobs import SCORING_JOB_NAME

    schedule = build_definitions().resolve_schedule_def("weekly_churn_model")
    assert schedule.cron_schedule == "0 4 * * 1"  # Mondays 04:00, after the 02:00 scoring
    assert schedule.job_name == "churn_model_job"
    training = build_definitions().resolve_job_def("churn_model_job").asset_layer.selected_asset_keys
    scoring = build_definitions().resolve_job_def(SCORING_JOB_NAME).asset_layer.selected_asset_keys
    assert dg.AssetKey("churn_model") in training and dg.AssetKey("churn_model") not in scoring


def test_a_model_no_better_than_chance_is_refused_and_its_figures_say_why() -> None:
    # churn drawn with the same probability for everyone, unrelated to every feature: whatever
    # the booster learns ranks the validation days at chance, so no interval clears 0.5.
    frame = synthetic({"coin": 1000}, seed=5)
    frame["churned"] = np.random.default_rng(5).random(len(frame)) < 0.15
    (scope,) = train_churn_models(frame, CONFIG)
    assert scope.kind == NO_MODEL and scope.model is None
    auc = scope.metrics["coin"]["model"]["auc"]
    assert auc.low <= 0.5
    assert scope.reasons["coin"].startswith("no model: its validation AUC ")
    assert "is not above chance (0.5) with 95% confidence" in scope.reasons["coin"]


def test_a_constant_model_is_refused() -> None:
    # one feature, the same value for everyone: the booster can only predict a constant (AUC 0.5).
    frame = synthetic({"flat": 1000}, seed=6)
    frame[SIGNAL] = 7.0
    frame[NOISE] = 1.0
    (scope,) = train_churn_models(frame, CONFIG)
    assert scope.kind == NO_MODEL
    assert scope.metrics["flat"]["model"]["auc"].value == 0.5
