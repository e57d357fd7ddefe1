"""The model-alert opt-in (issue 11, item 6): its scoring-config keys and their validation, and
which customers a budget alerts, worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_scoring.defs.alerts import TABLE_COLUMNS, model_alert_rows
from crm_scoring.rules.alerts import alert_id, model_alert_count, model_alert_reason, model_alerted
from crm_scoring.rules.config import (
    MODEL_ALERTS,
    RULE_ALERTS,
    SPEC_CONFIG,
    ModelAlertBudget,
    ScoringConfigError,
    load_config,
)
from tests.unit.test_scoring_config import SPEC_LABEL

TOP_40 = ModelAlertBudget(top_percent=40)


def only_problem(churn: str) -> str:
    with pytest.raises(ScoringConfigError) as caught:
        load_config(f"version: spec\ntenants:\n  acme:\n    churn: {churn}\n", name="tuning.yaml")
    [problem] = caught.value.problems
    return problem


def test_the_default_is_the_rule_and_leaves_every_label_as_it_was() -> None:
    configs = load_config("version: spec\ntenants:\n  acme:\n    churn: {model_alert: {top_percent: 5}}\n")
    assert SPEC_CONFIG.churn.alert_source == RULE_ALERTS
    assert SPEC_CONFIG.churn.model_alert == ModelAlertBudget(top_percent=5, probability_threshold=None)
    # no key of the opt-in in the digest unless it differs: labels scored before it stay
    assert "alert_source" not in SPEC_CONFIG.to_dict()["churn"]
    assert configs.version_for("acme") == configs.version_for("globex") == SPEC_LABEL


def test_a_tenant_opts_in_with_a_budget_and_gets_a_label_of_its_own() -> None:
    configs = load_config(
        "version: spec\n"
        "defaults:\n  churn: {model_alert: {probability_threshold: 0.3}}\n"
        "tenants:\n"
        "  acme:\n    churn: {alert_source: model, model_alert: {top_percent: 2.5}}\n"
        "  globex:\n    churn: {alert_source: model}\n"
    )
    acme, globex = configs.config_for("acme").churn, configs.config_for("globex").churn
    # a budget is replaced whole: acme's top_percent does not keep the defaults' threshold
    assert (acme.alert_source, acme.model_alert) == (MODEL_ALERTS, ModelAlertBudget(2.5, None))
    assert (globex.alert_source, globex.model_alert) == (MODEL_ALERTS, ModelAlertBudget(None, 0.3))
    assert configs.config_for("other").churn.alert_source == RULE_ALERTS
    assert len({configs.version_for(t) for t in ("acme", "globex", "other")} | {SPEC_LABEL}) == 4


@pytest.mark.parametrize(
    ("churn", "expected"),
    [
        (
            "{alert_source: models}",
            "tenants.acme.churn.alert_source: must be one of rule, model, got 'models'",
        ),
        ("{alert_source: true}", "tenants.acme.churn.alert_source: must be one of rule, model, got true"),
        (
            "{model_alert: {top_percent: 5, probability_threshold: 0.2}}",
            "tenants.acme.churn.model_alert: give either top_percent (0-100] or probability_threshold "
            "(0-1], not both",
        ),
        (
            "{model_alert: {}}",
            "tenants.acme.churn.model_alert: give either top_percent (0-100] or probability_threshold "
            "(0-1], got neither",
        ),
        (
            "{model_alert: {top_percent: 0}}",
            "tenants.acme.churn.model_alert.top_percent: must be more than 0 and at most 100, got 0",
        ),
        (
            "{model_alert: {top_percent: 100.5}}",
            "tenants.acme.churn.model_alert.top_percent: must be more than 0 and at most 100, got 100.5",
        ),
        (
            "{model_alert: {probability_threshold: 1.2}}",
            "tenants.acme.churn.model_alert.probability_threshold: "
            "must be more than 0 and at most 1, got 1.2",
        ),
        (
            "{model_alert: {probability_threshold: '0.2'}}",
            "tenants.acme.churn.model_alert.probability_threshold: must be a number, got '0.2'",
        ),
        (
            "{model_alert: {top: 5}}",
            "tenants.acme.churn.model_alert: unknown key 'top' (allowed: top_percent, probability_threshold)",
        ),
        (
            "{model_alert: 5}",
            "tenants.acme.churn.model_alert: "
            "must be a mapping with top_percent or probability_threshold, got 5",
        ),
    ],
)
def test_bad_opt_ins_are_refused_with_the_key_and_the_reason(churn: str, expected: str) -> None:
    assert only_problem(churn) == expected


@pytest.mark.parametrize(
    ("customers", "percent", "expected"),
    [
        (5, 40, 2),  # 2.0 exactly
        (30, 5, 2),  # 1.5 -> 2: a started alert is a whole one
        (19, 5, 1),  # 0.95 -> 1
        (20, 5, 1),  # 1.0
        (21, 5, 2),  # 1.05 -> 2
        (3000, 1.1, 33),  # 33 exactly (floats make it 33.00000000000001)
        (7, 100, 7),
        (0, 5, 0),
    ],
)
def test_a_top_percent_budget_rounds_up(customers: int, percent: float, expected: int) -> None:
    assert model_alert_count(customers, percent) == expected


def predictions() -> pd.DataFrame:
    """Five customers ranked by the model; c2 and c5 share a probability, c5 ranked first
    (churn_predictions breaks ties by the raw score, then customer_id)."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "churn_probability": [0.10, 0.40, 0.05, 0.70, 0.40],
            "churn_rank": [4, 3, 5, 1, 2],
            "model_version": "churn-v1",
            "driver_1": ["d1", None, None, "silent for 40 days (typical 3)", "d5"],
            "driver_2": [None, None, None, "no payment", None],
            "driver_3": [None] * 5,
        }
    )


def test_top_percent_takes_the_best_ranks_and_cuts_a_tie_by_rank() -> None:
    # 40% of 5 = 2: ranks 1 and 2, c4 and c5; c2 ties c5 on probability but ranks 3rd
    assert model_alerted(predictions(), TOP_40)["customer_id"].tolist() == ["c4", "c5"]
    # 50% of 5 = 2.5 -> 3: the tied c2 too
    assert model_alerted(predictions(), ModelAlertBudget(top_percent=50))["customer_id"].tolist() == [
        "c4",
        "c5",
        "c2",
    ]


def test_a_probability_threshold_takes_everyone_at_or_above_it() -> None:
    at_040 = model_alerted(predictions(), ModelAlertBudget(top_percent=None, probability_threshold=0.4))
    assert at_040["customer_id"].tolist() == ["c4", "c5", "c2"]  # 0.40 itself is in
    above = model_alerted(predictions(), ModelAlertBudget(top_percent=None, probability_threshold=0.41))
    assert above["customer_id"].tolist() == ["c4"]
    assert model_alerted(predictions(), ModelAlertBudget(None, 0.9)).empty


def test_model_alert_rows_carry_the_rule_scores_the_probability_and_the_reason() -> None:
    scores = pd.DataFrame(
        {
            "as_of_date": "2026-03-15",
            "tenant_id": "acme",
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "churn_risk_score": [90, 10, 20, 30, 40],
            "engagement_score": [1, 2, 3, 4, 5],
        }
    )
    churn = SPEC_CONFIG.churn
    rows = model_alert_rows(
        scores,
        model_alerted(predictions(), TOP_40),
        type(churn)(**{**churn.__dict__, "model_alert": TOP_40}),
        "r1",
    )
    assert list(rows.columns) == TABLE_COLUMNS
    # c1 has the highest rule score (90) but the model ranks it 4th: not alerted
    assert rows["customer_id"].tolist() == ["c4", "c5"]
    assert rows["churn_risk_score"].tolist() == [30, 40]
    assert rows["churn_probability"].tolist() == [0.70, 0.40]
    assert set(rows["alert_source"]) == {MODEL_ALERTS}
    assert rows["alert_id"].tolist() == [alert_id("acme", c, "2026-03-15") for c in ("c4", "c5")]
    assert rows["reason"].tolist() == [
        "churn model churn-v1: probability 0.70, rank 1 (top 40% by churn probability); "
        "drivers: silent for 40 days (typical 3); no payment",
        "churn model churn-v1: probability 0.40, rank 2 (top 40% by churn probability); drivers: d5",
    ]


def test_a_threshold_reason_names_the_threshold_and_no_drivers_means_none_listed() -> None:
    assert (
        model_alert_reason("v", 0.456, 7, ModelAlertBudget(None, 0.25), [])
        == "churn model v: probability 0.46, rank 7 (churn probability >= 0.25)"
    )
