"""Per-tenant scoring configs through the real graph, and `crm-scoring preview` as a user runs it.

The hand-built dataset (tests/integration/dataset.py) gives every component of every customer;
the scores below are those components under the overridden weights and thresholds, by hand.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.rules.config import load_config
from tests.integration import dataset
from tests.integration.test_cli import crm_scoring

pytestmark = pytest.mark.integration

SPEC_LABEL = "spec+48758cdc"

# acme: other churn weights, alerts from 44, rising risk from 30 points;
# globex: recency scores 100 only for activity today, 50 within 30 days.
TENANT_OVERRIDES = """\
version: 2026-12-01
tenants:
  acme:
    churn:
      weights: {activity_decline: 0.25, payment_issues: 0.25, engagement_drop: 0.20,
                tier_downgrade: 0.10, complaints: 0.20}
      alert_threshold: 44
    trends:
      rising_risk_points: 30
  globex:
    engagement:
      recency: {days_at_most: [0, 30], points: [100, 50]}
"""

# (decline, payment, drop, tier, complaints) x (.25, .25, .20, .10, .20):
EXPECTED_ACME_CHURN = {
    "c1": 44,  # 25, 40, 40, 80, 60 -> 6.25 + 10 + 8 + 8 + 12 = 44.25
    "c2": 93,  # 80, 100, 100, 80, 100 -> 20 + 25 + 20 + 8 + 20
    "c3": 35,  # 100, 0, 50, 0, 0 -> 25 + 10
    "c6": 0,
    "c7": 10,  # 0, 0, 50, 0, 0
    "c8": 18,  # 0, 0, 50, 80, 0 -> 10 + 8
}


def _scores(engine, settings) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.customer_scores where as_of_date = :day"),
            connection,
            params={"day": dataset.DAY},
        ).set_index("customer_id")


def _score_day(instance, engine, settings, tmp_path: Path) -> None:
    registered = operations.sync_tenants(instance, engine, settings)
    outcomes = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert all(outcome.success for outcome in outcomes), (tmp_path / "run.log").read_text()[-3000:]


def test_each_tenant_is_scored_alerted_and_labelled_with_its_config(
    instance, engine, settings, load_sources, tmp_path, monkeypatch
) -> None:
    config_path = tmp_path / "scoring.yaml"
    config_path.write_text(TENANT_OVERRIDES)
    monkeypatch.setenv("CRM_SCORING_CONFIG", str(config_path))
    expected_labels = {tenant: load_config(config_path).version_for(tenant) for tenant in ("acme", "globex")}
    load_sources(dataset.SOURCES)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"truncate {settings.analytics_schema}.alert_episodes, "
                f"{settings.analytics_schema}.alert_outbox"
            )
        )
    _score_day(instance, engine, settings, tmp_path)

    scores = _scores(engine, settings)
    for customer, churn in EXPECTED_ACME_CHURN.items():
        expected = dataset.EXPECTED[("acme", customer)]
        assert scores.loc[customer, "churn_risk_score"] == churn, customer
        # acme's engagement and every component are the specification's
        for column, value in expected.items():
            if column != "churn_risk_score":
                assert scores.loc[customer, column] == value, (customer, column)
    # globex g1, last active 1 day ago: recency 50 -> 15 + 25 + 20 + 15 + 10 = 85; churn unchanged
    assert scores.loc["g1", "recency_score"] == 50
    assert scores.loc["g1", "engagement_score"] == 85
    assert scores.loc["g1", "churn_risk_score"] == 0

    # Each row names the config it was scored with; the two tenants' configs differ.
    labels = scores.groupby("tenant_id")["config_version"].unique().map(list).to_dict()
    assert labels == {tenant: [label] for tenant, label in expected_labels.items()}
    assert all(label.startswith("2026-12-01+") for label in expected_labels.values())
    assert expected_labels["acme"] != expected_labels["globex"] != SPEC_LABEL
    with engine.connect() as connection:
        recorded = {
            row.config_version: row
            for row in connection.execute(text(f"select * from {settings.analytics_schema}.scoring_configs"))
        }
    acme = recorded[expected_labels["acme"]]
    assert acme.config["churn"]["alert_threshold"] == 44
    assert acme.config["churn"]["weights"]["complaints"] == 0.20
    assert acme.source == str(config_path)
    assert recorded[expected_labels["globex"]].config["engagement"]["recency"] == {
        "days_at_most": [0, 30],
        "points": [100, 50],
    }
    for tenant in ("acme", "globex"):
        metadata = dataset.partition_metadata(instance, "customer_scores", tenant)
        assert metadata["config_version"] == expected_labels[tenant]

    # acme alerts from 44: c1 (44, exactly at it), c2 (93); INACTIVE c3 at 35 does not.
    with engine.connect() as connection:
        alerts = dict(
            connection.execute(
                text(
                    f"select customer_id, churn_risk_score from {settings.analytics_schema}.churn_alerts "
                    "where as_of_date = :day"
                ),
                {"day": dataset.DAY},
            ).all()
        )
        opened = set(
            connection.execute(
                text(
                    f"select customer_id from {settings.analytics_schema}.alert_episodes "
                    "where opened_on = :day"
                ),
                {"day": dataset.DAY},
            ).scalars()
        )
    assert alerts == {"c1": 44, "c2": 93}
    assert opened == {"c1", "c2"}
    assert dataset.partition_metadata(instance, "churn_alerts", "acme")["threshold"] == 44
    assert dataset.partition_metadata(instance, "churn_alerts", "globex")["threshold"] == 80

    # rising risk: c2 up 25 in 7 days is rising under the default 20, not under acme's 30.
    table = f"{settings.analytics_schema}.customer_scores"
    columns = (
        "as_of_date, tenant_id, customer_id, status, engagement_score, churn_risk_score, recency_score, "
        "frequency_score, monetary_score, breadth_score, depth_score, activity_decline_risk, payment_risk, "
        "engagement_drop_risk, tier_downgrade_risk, complaint_risk, top_reasons, as_of, scored_at, run_id"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {table} ({columns}) select as_of_date - 7, tenant_id, customer_id, status, "
                "engagement_score, churn_risk_score - 25, recency_score, frequency_score, monetary_score, "
                "breadth_score, depth_score, activity_decline_risk, payment_risk, engagement_drop_risk, "
                "tier_downgrade_risk, complaint_risk, top_reasons, as_of - interval '7 days', scored_at, "
                f"run_id from {table} where as_of_date = :day and customer_id = 'c2'"
            ),
            {"day": dataset.DAY},
        )
    _score_day(instance, engine, settings, tmp_path)
    with engine.connect() as connection:
        c2 = connection.execute(
            text(
                "select churn_risk_change_7d, rising_risk from "
                f"{settings.analytics_schema}.customer_score_trends "
                "where as_of_date = :day and customer_id = 'c2'"
            ),
            {"day": dataset.DAY},
        ).one()
        week_ago_label = connection.execute(
            text(f"select config_version from {table} where as_of_date = :day and customer_id = 'c2'"),
            {"day": dataset.DAY - timedelta(days=7)},
        ).scalar_one()
    assert (c2.churn_risk_change_7d, c2.rising_risk) == (25, False)
    assert week_ago_label == "unversioned"  # a row written without a label (the column's default)


def test_default_config_labels_rows_with_the_spec_version(scored_day, engine, settings) -> None:
    # scored_day is scored with the defaults: CRM_SCORING_CONFIG unset
    scores = _scores(engine, settings)
    assert set(scores["config_version"]) == {SPEC_LABEL}
    for (_, customer), expected in dataset.EXPECTED.items():
        assert {column: scores.loc[customer, column] for column in expected} == expected


# --- preview ------------------------------------------------------------------------------

# acme under PREVIEW_CONFIG, from the dataset's components:
# engagement (.40, .20, .20, .10, .10): c1 40 + 8 + 16 + 5 + 5.4 = 74.4 -> 74 (was 69),
#   c2 8 + 5 = 13 (11), c3 4 + 10 + 5 = 19 (24), c6 40 + 8 + 5 + 5 = 58 (53),
#   c7 32 + 4 + 8 + 5 = 49 (42), c8 32 + 8 + 5 = 45 (39).
# churn (.20, .20, .20, .30, .10): c1 5 + 8 + 8 + 24 + 6 = 51 (41), c2 16 + 20 + 20 + 24 + 10 = 90
#   (91), c3 20 + 10 = 30 (45), c6 0 (0), c7 10 (10), c8 10 + 24 = 34 (18).
# ACTIVE (all but c3): engagement High 0 -> 1 (c1), Medium 3 -> 3 (c8 in, c1 out), Low 2 -> 1;
#   churn critical 1 -> 1, high 0 -> 0, medium 1 -> 2 (c8), low 3 -> 2.
# All six scored: alerts >= 80: c2 -> >= 50: c1, c2; mean engagement 238/6 = 39.67 -> 258/6 = 43.00,
#   mean churn 205/6 = 34.17 -> 215/6 = 35.83.
PREVIEW_CONFIG = """\
version: 2026-12-01
tenants:
  acme:
    engagement:
      weights: {recency: 0.40, frequency: 0.20, monetary: 0.20, breadth: 0.10, depth: 0.10}
    churn:
      weights: {activity_decline: 0.20, payment_issues: 0.20, engagement_drop: 0.20,
                tier_downgrade: 0.30, complaints: 0.10}
      alert_threshold: 50
"""


def _cli_env(database_url: str) -> dict[str, str]:
    return {
        "CRM_SCORING_DATABASE_URL": database_url,
        "CRM_SCORING_SOURCE_SCHEMA": "crm_test",
        "CRM_SCORING_ANALYTICS_SCHEMA": "analytics_test",
    }


def _row(output: str, label: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.strip().startswith(label)]
    return line.strip()[len(label) :].split()


def test_preview_shows_how_the_distributions_would_move(
    scored_day, engine, settings, database_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("CRM_SCORING_CONFIG", raising=False)
    before = _scores(engine, settings)
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(PREVIEW_CONFIG)

    result = crm_scoring(
        "preview", "--tenant", "acme", "--config", str(proposed), home=tmp_path, **_cli_env(database_url)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"Preview for tenant acme on {dataset.DAY}" in out
    assert f"current:  {SPEC_LABEL}" in out
    assert f"proposed: {load_config(proposed).version_for('acme')}  ({proposed})" in out
    assert f"stored scores of that day: {SPEC_LABEL}" in out
    assert _row(out, "High (70-100)") == ["0", "1", "+1"]
    assert _row(out, "Medium (40-69)") == ["3", "3", "+0"]
    assert _row(out, "Low (1-39)") == ["2", "1", "-1"]
    assert _row(out, "Inactive (0)") == ["0", "0", "+0"]
    assert _row(out, "critical (>= 80)") == ["1", "1", "+0"]
    assert _row(out, "high (60-79)") == ["0", "0", "+0"]
    assert _row(out, "medium (30-59)") == ["1", "2", "+1"]
    assert _row(out, "low (< 30)") == ["3", "2", "-1"]
    assert _row(out, "churn alerts") == ["1", "(>=", "80)", "2", "(>=", "50)", "+1"]
    assert _row(out, "mean engagement score") == ["39.67", "43.00", "+3.33"]
    assert _row(out, "mean churn risk score") == ["34.17", "35.83", "+1.66"]
    assert "ACTIVE customers changing engagement bucket: 2 of 5 (2 higher, 0 lower)" in out
    assert "ACTIVE customers changing churn-risk band: 1 of 5 (1 riskier, 0 safer)" in out
    # nothing was written
    pd.testing.assert_frame_equal(_scores(engine, settings), before)

    # --date picks the day explicitly; the same day gives the same preview
    dated = crm_scoring(
        "preview",
        "--tenant",
        "acme",
        "--config",
        str(proposed),
        "--date",
        dataset.DAY.isoformat(),
        home=tmp_path,
        **_cli_env(database_url),
    )
    assert dated.returncode == 0, dated.stderr[-3000:]
    assert dated.stdout == out


def test_preview_refuses_what_it_cannot_do_with_exit_code_2(
    scored_day, database_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("CRM_SCORING_CONFIG", raising=False)
    env = _cli_env(database_url)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(PREVIEW_CONFIG.replace("complaints: 0.10", "complaints: 0.05"))
    result = crm_scoring("preview", "--tenant", "acme", "--config", str(invalid), home=tmp_path, **env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: invalid scoring config {invalid}: tenants.acme.churn.weights: weights sum to 0.95, must be 1"
    )
    good = tmp_path / "good.yaml"
    good.write_text(PREVIEW_CONFIG)
    unknown = crm_scoring("preview", "--tenant", "initech", "--config", str(good), home=tmp_path, **env)
    assert unknown.returncode == 2
    assert "Unknown tenant 'initech': it has no customer profiles. Known: acme, globex" in unknown.stderr
    no_features = crm_scoring(
        "preview", "--tenant", "acme", "--config", str(good), "--date", "2026-01-01", home=tmp_path, **env
    )
    assert no_features.returncode == 2
    assert "No customer_features for tenant 'acme' on 2026-01-01" in no_features.stderr
    bad_date = crm_scoring("preview", "--tenant", "acme", "--config", str(good), "--date", "x", home=tmp_path)
    assert bad_date.returncode == 2 and "--date 'x' is not a date in YYYY-MM-DD form" in bad_date.stderr
    # the config in force is checked too (and by `run`, before anything starts)
    broken_env = {**env, "CRM_SCORING_CONFIG": str(invalid)}
    current = crm_scoring("preview", "--tenant", "acme", "--config", str(good), home=tmp_path, **broken_env)
    assert current.returncode == 2 and "weights sum to 0.95" in current.stderr
    run = crm_scoring("run", "--date", dataset.DAY.isoformat(), home=tmp_path, **broken_env)
    assert run.returncode == 2 and "weights sum to 0.95" in run.stderr
