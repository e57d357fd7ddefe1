"""The scoring config: the packaged file, validation messages, merging, version labels, and
scores under non-default weights and thresholds worked out by hand."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_scoring.rules import churn, engagement
from crm_scoring.rules.alerts import high_churn_risk
from crm_scoring.rules.config import (
    SPEC_CONFIG,
    ScoringConfigError,
    Steps,
    load_config,
    version_label,
)
from crm_scoring.rules.rounding import js_round
from crm_scoring.rules.scorecard import score_by_tenant, score_features
from crm_scoring.rules.trends import customer_trends
from crm_scoring.settings import DEFAULT_SCORING_CONFIG, load_scoring_config
from tests.unit.test_scorecard_and_distributions import AS_OF, features

SPEC_LABEL = "spec+48758cdc"

ENGAGEMENT_WEIGHTS = "{recency: 0.30, frequency: 0.25, monetary: 0.20, breadth: 0.15, depth: 0.10}"


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScoringConfigError) as caught:
        load_config(text, name="tuning.yaml")
    assert str(caught.value).startswith("invalid scoring config tuning.yaml: ")
    return caught.value.problems


def only_problem(text: str) -> str:
    [problem] = problems_of(text)
    return problem


# --- the packaged file and the defaults --------------------------------------------------


def test_packaged_file_holds_exactly_the_specification_values(monkeypatch) -> None:
    monkeypatch.delenv("CRM_SCORING_CONFIG", raising=False)
    monkeypatch.delenv("CRM_SCORING_RISING_RISK_POINTS", raising=False)
    packaged = load_scoring_config()
    assert packaged.source == str(DEFAULT_SCORING_CONFIG)
    assert packaged.defaults == SPEC_CONFIG
    assert packaged.tenants == {}
    assert packaged.version_for("any-tenant") == SPEC_LABEL
    # the old module constants still say the same
    assert engagement.WEIGHTS == {
        "recency": 0.30,
        "frequency": 0.25,
        "monetary": 0.20,
        "breadth": 0.15,
        "depth": 0.10,
    }
    assert churn.WEIGHTS["activity_decline"] == 0.35 and churn.ALERT_THRESHOLD == 80


def test_spec_label_is_stable() -> None:
    # Stored with every score row: a change here relabels history. Only change it on purpose.
    assert version_label("spec", SPEC_CONFIG) == SPEC_LABEL
    assert len(SPEC_CONFIG.digest) == 64


def _old_engagement(r, f, m, b, d):
    return js_round(r * 0.30 + f * 0.25 + m * 0.20 + b * 0.15 + d * 0.10)


def _old_churn(a, p, e, t, c):
    return js_round(a * 0.35 + p * 0.25 + e * 0.20 + t * 0.10 + c * 0.10)


def test_default_config_is_bit_identical_to_the_hard_coded_rules() -> None:
    """Every combination of component values the rules can produce, summed with the packaged
    config's weights, against the previous code's literal expressions."""
    configured = load_config(DEFAULT_SCORING_CONFIG).defaults
    steps = np.array([0, 20, 25, 40, 50, 54, 60, 75, 80, 100], dtype=np.float64)
    grid = np.array(list(itertools.product(steps, repeat=5))).T
    np.testing.assert_array_equal(
        engagement.engagement_score(*grid, weights=configured.engagement.weights), _old_engagement(*grid)
    )
    np.testing.assert_array_equal(
        churn.churn_risk_score(*grid, weights=configured.churn.weights), _old_churn(*grid)
    )
    days = np.array([np.nan, -3, *range(0, 120), 400], dtype=np.float64)
    np.testing.assert_array_equal(
        engagement.recency_score(days, configured.engagement.recency),
        np.select(
            [np.isnan(days), days <= 7, days <= 14, days <= 30, days <= 60, days <= 90],
            [0, 100, 80, 60, 40, 20],
            default=0,
        ),
    )
    np.testing.assert_array_equal(
        churn.engagement_drop_risk(days, configured.churn.engagement_drop),
        np.select([np.isnan(days), days > 60, days > 30, days > 14], [50, 100, 70, 40], default=0),
    )
    counts = np.arange(0, 40, dtype=np.float64)
    np.testing.assert_array_equal(
        engagement.frequency_score(counts, configured.engagement.frequency),
        np.select([counts >= 20, counts >= 10, counts >= 5, counts >= 2, counts >= 1], [100, 80, 60, 40, 20]),
    )
    ltv = np.array([np.nan, -1, 0, 4999.99, 5000, 9999, 10000, 20000, 49999.5, 50000, 100000, 1e9])
    clean = np.nan_to_num(ltv)
    np.testing.assert_array_equal(
        engagement.monetary_score(ltv, configured.engagement.monetary),
        np.select(
            [clean >= 100000, clean >= 50000, clean >= 20000, clean >= 10000, clean >= 5000],
            [100, 80, 60, 40, 20],
        ),
    )


# --- validation: one message per mistake -------------------------------------------------


def test_unknown_key_names_the_path_and_suggests_the_right_one() -> None:
    problem = only_problem(
        """
version: 2026-11-01
tenants:
  acme:
    churn:
      wieghts: {activity_decline: 1}
"""
    )
    assert problem == (
        "tenants.acme.churn: unknown key 'wieghts' "
        "(did you mean 'weights'? "
        "allowed: weights, engagement_drop, alert_threshold, alert_source, model_alert)"
    )
    assert "unknown key 'colour'" in only_problem("version: x\ncolour: blue\n")
    assert problems_of("version: x\ndefaults:\n  engagement:\n    weights: {recency: 1, speed: 0}\n")[
        0
    ].startswith("defaults.engagement.weights: unknown key 'speed'")


def test_weights_must_sum_to_one() -> None:
    problem = only_problem(
        """
version: 2026-11-01
tenants:
  acme:
    churn:
      weights: {activity_decline: 0.30, payment_issues: 0.25, engagement_drop: 0.20,
                tier_downgrade: 0.10, complaints: 0.10}
"""
    )
    assert problem == "tenants.acme.churn.weights: weights sum to 0.95, must be 1"


def test_weights_sum_tolerates_float_noise_only() -> None:
    noisy = "{recency: 0.1, frequency: 0.2, monetary: 0.3, breadth: 0.15, depth: 0.25}"
    loaded = load_config(f"version: x\ndefaults:\n  engagement:\n    weights: {noisy}\n")
    assert loaded.defaults.engagement.weights.recency == 0.1
    off = "{recency: 0.30000001, frequency: 0.25, monetary: 0.20, breadth: 0.15, depth: 0.10}"
    assert only_problem(f"version: x\ndefaults:\n  engagement:\n    weights: {off}\n") == (
        "defaults.engagement.weights: weights sum to 1.00000001, must be 1"
    )


def test_a_weight_set_is_complete_numeric_and_within_0_1() -> None:
    assert only_problem("version: x\ndefaults:\n  engagement:\n    weights: {recency: 1}\n") == (
        "defaults.engagement.weights: missing weight(s) frequency, monetary, breadth, depth: "
        "a weights section gives all of recency, frequency, monetary, breadth, depth"
    )
    bad = "{recency: 1.2, frequency: -0.2, monetary: 0, breadth: 0, depth: 'a lot'}"
    assert problems_of(f"version: x\ndefaults:\n  engagement:\n    weights: {bad}\n") == [
        "defaults.engagement.weights.recency: must be within 0-1, got 1.2",
        "defaults.engagement.weights.frequency: must be within 0-1, got -0.2",
        "defaults.engagement.weights.depth: must be a number, got 'a lot'",
    ]
    assert only_problem("version: x\ndefaults:\n  churn:\n    weights: 1\n").startswith(
        "defaults.churn.weights: must be a mapping of activity_decline, payment_issues"
    )


def test_step_thresholds_must_be_strictly_increasing() -> None:
    problem = only_problem(
        "version: x\ndefaults:\n  engagement:\n"
        "    recency: {days_at_most: [7, 14, 14, 60, 90], points: [100, 80, 60, 40, 20]}\n"
    )
    assert problem == (
        "defaults.engagement.recency.days_at_most: must be strictly increasing, got [7, 14, 14, 60, 90]"
    )
    # written the specification's way round (highest first) is refused just the same
    assert only_problem(
        "version: x\ndefaults:\n  engagement:\n"
        "    frequency: {activities_at_least: [20, 10, 5, 2, 1], points: [100, 80, 60, 40, 20]}\n"
    ).endswith("activities_at_least: must be strictly increasing, got [20, 10, 5, 2, 1]")
    assert (
        only_problem(
            "version: x\ndefaults:\n  churn:\n    engagement_drop: {days_over: [-1, 30], points: [40, 70]}\n"
        )
        == "defaults.churn.engagement_drop.days_over: must not be negative, got [-1, 30]"
    )


def test_points_must_be_whole_numbers_within_0_100() -> None:
    for points in ("[100, 120, 60, 40, 20]", "[100, 80, 60.5, 40, 20]", "[100, 80, 60, 40, -20]"):
        problem = only_problem(
            f"version: x\ndefaults:\n  engagement:\n    recency: {{days_at_most: [7, 14, 30, 60, 90], "
            f"points: {points}}}\n"
        )
        assert problem.startswith(
            "defaults.engagement.recency.points: points must be whole numbers within 0-100, got ["
        ), problem


def test_a_step_table_pairs_thresholds_with_points() -> None:
    assert only_problem(
        "version: x\ndefaults:\n  engagement:\n    monetary: {value_at_least: [1, 2, 3], points: [10, 20]}\n"
    ) == (
        "defaults.engagement.monetary: value_at_least has 3 steps but points has 2 values: "
        "they pair up one to one"
    )
    assert only_problem("version: x\ndefaults:\n  engagement:\n    monetary: {value_at_least: [1]}\n") == (
        "defaults.engagement.monetary: missing 'points': a step table gives both value_at_least and points"
    )
    assert only_problem(
        "version: x\ndefaults:\n  engagement:\n    monetary: {value_at_least: [], points: [10]}\n"
    ).startswith("defaults.engagement.monetary.value_at_least: must be a non-empty list of numbers")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101", "must be a whole number within 0-100, got 101"),
        ("79.5", "must be a whole number within 0-100, got 79.5"),
        ("high", "must be a number, got 'high'"),
        ("true", "must be a number, got true"),
        (".nan", "must be a number, got nan"),
    ],
)
def test_alert_threshold_is_a_score(value: str, expected: str) -> None:
    assert only_problem(f"version: x\ndefaults:\n  churn:\n    alert_threshold: {value}\n") == (
        f"defaults.churn.alert_threshold: {expected}"
    )


def test_rising_risk_points_are_1_to_100() -> None:
    assert only_problem("version: x\ntenants:\n  acme:\n    trends: {rising_risk_points: 0}\n") == (
        "tenants.acme.trends.rising_risk_points: must be a whole number within 1-100, got 0"
    )


def test_version_is_required_and_a_plain_label() -> None:
    assert only_problem("defaults: {}\n") == "version: required, e.g. version: 2026-11-01"
    assert only_problem("version: 1.10\n").endswith(
        "got 1.1 (quote it: '1.10' would otherwise read as the number 1.1)"
    )
    assert only_problem("version: 'has space'\n").startswith("version: must be a label of letters, digits")
    assert load_config("version: 2026-11-01\n").version == "2026-11-01"  # YAML's date, as text
    assert load_config("version: 3\n").version == "3"
    assert load_config("version: '1.10'\n").version == "1.10"


def test_file_level_mistakes() -> None:
    assert only_problem("") == "the file is empty: it needs at least a 'version'"
    assert only_problem("- a\n- b\n").startswith("must be a mapping with 'version', 'defaults' and 'tenants'")
    assert (
        only_problem("version: x\nversion: y\n")
        == "not valid YAML: line 2, column 1: key 'version' is given twice"
    )
    assert only_problem("version: x\ntenants:\n  acme: {}\n  acme: {}\n").endswith(
        "key 'acme' is given twice"
    )
    assert only_problem("version: [x\n").startswith("not valid YAML: line 2, column 1:")
    assert only_problem("version: x\ntenants:\n  123: {}\n") == (
        "tenants: tenant id 123 must be a non-empty string (quote it: '123')"
    )
    assert only_problem("version: x\ntenants: [acme]\n") == (
        "tenants: must be a mapping of tenant id to overrides, got a list"
    )
    assert only_problem("version: x\ntenants:\n  acme: 5\n") == "tenants.acme: must be a mapping, got 5"


def test_every_problem_is_reported_at_once_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "tuning.yaml"
    path.write_text(
        "version: x\ndefaults:\n  churn:\n    alert_threshold: 101\n"
        "tenants:\n  acme:\n    trends: {rising_risk_points: 0}\n"
    )
    with pytest.raises(ScoringConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"invalid scoring config {path}: 2 problems:\n"
        "  - defaults.churn.alert_threshold: must be a whole number within 0-100, got 101\n"
        "  - tenants.acme.trends.rising_risk_points: must be a whole number within 1-100, got 0"
    )
    with pytest.raises(ScoringConfigError, match=r"invalid scoring config .*missing\.yaml: no such file"):
        load_config(tmp_path / "missing.yaml")


# --- merging --------------------------------------------------------------------------------


def test_defaults_lay_over_the_spec_and_tenants_over_the_defaults() -> None:
    loaded = load_config(
        """
version: 2026-11-01
defaults:
  churn:
    alert_threshold: 75
  engagement:
    recency: {days_at_most: [3, 7, 30], points: [100, 60, 30]}
tenants:
  acme:
    churn:
      weights: {activity_decline: 0.25, payment_issues: 0.25, engagement_drop: 0.20,
                tier_downgrade: 0.10, complaints: 0.20}
  globex:
    churn: {alert_threshold: 60}
    trends: {rising_risk_points: 30}
"""
    )
    defaults = loaded.defaults
    assert defaults.churn.alert_threshold == 75
    assert defaults.engagement.recency == Steps((3, 7, 30), (100, 60, 30))
    assert defaults.engagement.weights == SPEC_CONFIG.engagement.weights
    assert defaults.engagement.frequency == SPEC_CONFIG.engagement.frequency
    assert defaults.churn.weights == SPEC_CONFIG.churn.weights

    acme = loaded.config_for("acme")
    assert acme.churn.weights.activity_decline == 0.25 and acme.churn.weights.complaints == 0.20
    assert acme.churn.alert_threshold == 75  # from defaults
    assert acme.engagement.recency == Steps((3, 7, 30), (100, 60, 30))  # from defaults
    assert acme.trends.rising_risk_points == 20  # from the specification

    globex = loaded.config_for("globex")
    assert (globex.churn.alert_threshold, globex.trends.rising_risk_points) == (60, 30)
    assert globex.churn.weights == SPEC_CONFIG.churn.weights
    assert loaded.config_for("initech") == defaults  # no override: the defaults


def test_a_weight_set_is_replaced_whole_not_merged_weight_by_weight() -> None:
    # Giving two weights does not mean "keep the other three": the set must sum to 1 itself.
    assert only_problem(
        "version: x\ntenants:\n  acme:\n    engagement:\n      weights: {recency: 0.35, frequency: 0.20}\n"
    ).startswith("tenants.acme.engagement.weights: missing weight(s) monetary, breadth, depth")


# --- version labels -----------------------------------------------------------------------


def test_labels_follow_the_effective_values_not_the_text() -> None:
    plain = load_config(f"version: v1\ndefaults:\n  engagement:\n    weights: {ENGAGEMENT_WEIGHTS}\n")
    reformatted = load_config(
        "# a comment\nversion: v1\ndefaults:\n  engagement:\n    weights:\n      depth: 0.1\n"
        "      breadth: 0.150\n      monetary: 0.2\n      frequency: 0.25\n      recency: 0.3\n"
        "    recency: {days_at_most: [7.0, 14, 30, 60, 90], points: [100, 80, 60, 40, 20]}\n"
    )
    assert plain.version_for("a") == reformatted.version_for("a") == "v1+48758cdc"
    # the same values under another version: same hash, new label
    assert load_config("version: v2\n").version_for("a") == "v2+48758cdc"


def test_different_effective_configs_never_share_a_label() -> None:
    loaded = load_config(
        "version: 2026-11-01\ntenants:\n  acme:\n    churn: {alert_threshold: 79}\n"
        "  same:\n    churn: {alert_threshold: 80}\n"
    )
    default_label = loaded.version_for("globex")
    assert default_label == "2026-11-01+48758cdc"
    acme = loaded.version_for("acme")
    assert acme.startswith("2026-11-01+") and len(acme) == len("2026-11-01+") + 8
    assert acme != default_label
    # an override that changes nothing is the defaults, label included
    assert loaded.version_for("same") == default_label


def test_rising_risk_environment_variable_still_works_under_tenant_overrides(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: x\ntenants:\n  acme:\n    trends: {rising_risk_points: 30}\n")
    monkeypatch.setenv("CRM_SCORING_CONFIG", str(path))
    monkeypatch.setenv("CRM_SCORING_RISING_RISK_POINTS", "25")
    loaded = load_scoring_config()
    assert loaded.source == str(path)
    assert loaded.config_for("globex").trends.rising_risk_points == 25
    assert loaded.config_for("acme").trends.rising_risk_points == 30
    monkeypatch.setenv("CRM_SCORING_RISING_RISK_POINTS", "0")
    with pytest.raises(
        ScoringConfigError, match=r"CRM_SCORING_RISING_RISK_POINTS\.trends\.rising_risk_points"
    ):
        load_scoring_config()


# --- scores under a non-default config, worked out by hand --------------------------------


def _customer(**overrides) -> pd.DataFrame:
    """Dataset customer c1's features: recency 100 (1 day), frequency 40 (3), monetary 80
    (60000), breadth 50 (2 channels), depth 54 (4 sent, 3 opened, 1 clicked); churn: decline 25,
    payment 40, engagement drop 40 (opened 20 days ago), tier 80, complaints 60."""
    values = {
        "last_activity_at": pd.Timestamp(AS_OF) - pd.Timedelta(days=1, hours=23),
        "activity_count_30d": 3,
        "activity_count_90d": 10,
        "lifetime_value": 60000,
        "email_opt_in": True,
        "sms_opt_in": True,
        "campaign_sent_30d": 4,
        "campaign_opened_30d": 3,
        "campaign_clicked_30d": 1,
        "payment_failed_90d": 1,
        "payment_received_90d": 1,
        "latest_tier_change_reason": "downgrade",
        "complaints_90d": 1,
        "last_email_open_at": pd.Timestamp(AS_OF) - pd.Timedelta(days=20),
    }
    return features(**(values | overrides))


def test_spec_scores_of_the_reference_customer() -> None:
    row = score_features(_customer(), AS_OF).iloc[0]
    assert (row["engagement_score"], row["churn_risk_score"]) == (69, 41)


def test_changed_recency_weight_moves_engagement_as_computed_by_hand() -> None:
    config = load_config(
        "version: x\ndefaults:\n  engagement:\n    weights: "
        "{recency: 0.40, frequency: 0.15, monetary: 0.20, breadth: 0.15, depth: 0.10}\n"
    ).defaults
    row = score_features(_customer(), AS_OF, config).iloc[0]
    # 100*.40 + 40*.15 + 80*.20 + 50*.15 + 54*.10 = 40 + 6 + 16 + 7.5 + 5.4 = 74.9 -> 75
    assert row["engagement_score"] == 75
    assert row["churn_risk_score"] == 41  # churn untouched


def test_changed_step_tables_move_components_as_computed_by_hand() -> None:
    config = load_config(
        """
version: x
defaults:
  engagement:
    recency: {days_at_most: [1, 7, 30], points: [100, 70, 30]}
    frequency: {activities_at_least: [3, 10], points: [50, 100]}
    monetary: {value_at_least: [100000], points: [100]}
  churn:
    engagement_drop: {days_over: [7, 21], points: [60, 90]}
"""
    ).defaults
    row = score_features(_customer(), AS_OF, config).iloc[0]
    # last activity 1 day 23 hours ago = 1 whole day <= 1 -> 100; 3 activities >= 3 -> 50;
    # 60000 < 100000 -> 0; opened 20 days ago: > 7 but not > 21 -> 60
    assert (row["recency_score"], row["frequency_score"], row["monetary_score"]) == (100, 50, 0)
    assert row["engagement_drop_risk"] == 60
    # engagement 30 + 12.5 + 0 + 7.5 + 5.4 = 55.4 -> 55
    assert row["engagement_score"] == 55
    # churn 25*.35 + 40*.25 + 60*.20 + 80*.10 + 60*.10 = 8.75 + 10 + 12 + 8 + 6 = 44.75 -> 45
    assert row["churn_risk_score"] == 45
    # two days ago falls to the second step: 70
    older = score_features(
        _customer(last_activity_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=2)), AS_OF, config
    ).iloc[0]
    assert older["recency_score"] == 70


def test_churn_weights_change_the_score_and_the_order_of_reasons() -> None:
    config = load_config(
        "version: x\ndefaults:\n  churn:\n    weights: {activity_decline: 0.10, payment_issues: 0.10, "
        "engagement_drop: 0.10, tier_downgrade: 0.10, complaints: 0.60}\n"
    ).defaults
    spec = score_features(_customer(), AS_OF).iloc[0]
    tuned = score_features(_customer(), AS_OF, config).iloc[0]
    # 2.5 + 4 + 4 + 8 + 36 = 54.5 -> 55 (half up)
    assert tuned["churn_risk_score"] == 55
    # spec: tier 8, payment 10, drop 8, decline 8.75, complaints 6 -> payment, decline, tier
    assert spec["top_reasons"].split("; ")[0] == "1 failed payment in 90 days"
    assert tuned["top_reasons"].split("; ")[0] == "1 complaint in 90 days"


def test_each_tenant_is_scored_with_its_own_config_in_its_own_rows() -> None:
    loaded = load_config(
        "version: x\ntenants:\n  acme:\n    engagement:\n      weights: "
        "{recency: 0.40, frequency: 0.15, monetary: 0.20, breadth: 0.15, depth: 0.10}\n"
    )
    frame = pd.concat([_customer(), _customer(), _customer(), _customer(activity_count_30d=20)])
    frame["tenant_id"] = ["globex", "acme", "globex", "acme"]
    frame.index = [40, 10, 30, 20]  # not a range, not sorted
    scored = score_by_tenant(frame, AS_OF, loaded.config_for)
    assert list(scored.index) == [40, 10, 30, 20]
    assert list(scored["engagement_score"]) == [69, 75, 69, 84]  # acme 4th: 40 + 15 + 16 + 7.5 + 5.4
    for tenant in ("acme", "globex"):
        rows = frame[frame["tenant_id"] == tenant]
        pd.testing.assert_frame_equal(
            scored.loc[rows.index], score_features(rows, AS_OF, loaded.config_for(tenant))
        )
    # all tenants on the defaults: one pass, identical to score_features
    pd.testing.assert_frame_equal(
        score_by_tenant(frame, AS_OF, lambda tenant: SPEC_CONFIG), score_features(frame, AS_OF)
    )


def test_alerts_and_rising_risk_use_each_tenant_threshold() -> None:
    scores = pd.DataFrame(
        {"tenant_id": ["a", "a", "b", "b"], "customer_id": list("wxyz"), "churn_risk_score": [60, 79, 79, 80]}
    )
    assert list(high_churn_risk(scores)["customer_id"]) == ["z"]  # the specification's 80
    assert list(high_churn_risk(scores, {"a": 60, "b": 80})["customer_id"]) == ["w", "x", "z"]
    with pytest.raises(KeyError, match="no value for tenant"):
        high_churn_risk(scores, {"a": 60})

    def frame(rows):
        return pd.DataFrame(
            rows, columns=["tenant_id", "customer_id", "engagement_score", "churn_risk_score"]
        )

    today = frame([("a", "w", 50, 70), ("b", "y", 50, 70)])
    week_ago = frame([("a", "w", 50, 45), ("b", "y", 50, 45)])  # both up 25
    trends = customer_trends(today, week_ago, frame([]), {"a": 20, "b": 30}).set_index("customer_id")
    assert bool(trends.loc["w", "rising_risk"]) and not bool(trends.loc["y", "rising_risk"])
