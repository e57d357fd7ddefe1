"""The churn backtest on real PostgreSQL and real Dagster runs: the scores of dataset.DAY (worked
out by hand in dataset.py) judged against what the customers did in the 60 days after it; and
churn_model_backtest, the same scores beside a model's predictions of that day.

E = dataset.DAY = 2026-03-15, scored as of 2026-03-16 00:00 UTC (window start, included).
D = E + 60 = 2026-05-14, whose end 2026-05-15 00:00 UTC closes the window (excluded).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from crm_scoring.defs.model_backtest import churn_model_backtest
from crm_scoring.defs.partitions import scoring_key
from crm_scoring.defs.resources import warehouse_resource
from crm_scoring.model.training import train_churn_models
from crm_scoring.warehouse.model_registry import save_training_run
from crm_scoring.warehouse.outcomes import churn_outcomes
from crm_scoring.warehouse.writes import replace_partition_rows
from tests.integration import dataset
from tests.integration.dataset import activity, profile
from tests.unit.churn_frames import CONFIG, synthetic

pytestmark = pytest.mark.integration

EVALUATED = dataset.DAY
WINDOW_START = dataset.AS_OF
DAY = date(2026, 5, 14)
WINDOW_END = datetime(2026, 5, 15, tzinfo=dataset.AS_OF.tzinfo)
LONG_AGO = datetime(2025, 6, 1, tzinfo=dataset.AS_OF.tzinfo)


def after(days: float) -> datetime:
    return WINDOW_START + timedelta(days=days)


SOURCES = {
    **dataset.SOURCES,
    "customer_profiles": [
        *({**row, "created_at": LONG_AGO} for row in dataset.PROFILES),
        # No activity, payment, tier change, complaint or email open ever: like c3, churn risk
        # 100 * 0.35 + 50 * 0.20 = 45.
        profile("c9", "acme", created_at=LONG_AGO),
        profile("c10", "acme", created_at=LONG_AGO),
        profile("c11", "acme", created_at=WINDOW_START),  # scored on E, but did not exist yet
    ],
    "activities": [
        *dataset.ACTIVITIES,  # c1 also has a PURCHASE one hour into the window there
        activity("c1", "LOGIN", after(10)),
        activity("c6", "LOGIN", after(1)),
        activity("c7", "LOGIN", WINDOW_END),  # the window is closed by then: c7 did nothing in it
        activity("c8", "LOGIN", after(5)),
        activity("c9", "LOGIN", WINDOW_START),  # the first instant of the window counts
        activity("c10", "LOGIN", after(2)),
        activity("g1", "LOGIN", after(3), tenant="globex"),
    ],
}
# What happened to the profiles after E was scored (profiles keep only their current state):
# c1 set INACTIVE inside the window, c8 only when it had closed, c10 deleted inside it.
LATER_PROFILE_CHANGES = [
    {"id": "c1", "status": "INACTIVE", "updated_at": after(20), "deleted_at": None},
    {"id": "c8", "status": "INACTIVE", "updated_at": WINDOW_END, "deleted_at": None},
    {"id": "c10", "status": "ACTIVE", "updated_at": after(30), "deleted_at": after(30)},
]

# Evaluated: acme's ACTIVE customers scored on E (c3 was INACTIVE, c4 MERGED and c5 deleted are
# not, c11 did not exist at as_of), and globex's g1.
#   c1 41 churned (INACTIVE in the window, despite its activity)   c2 91 churned (no activity)
#   c6  0 stayed   c7 10 churned (its only activity is at the window's end)
#   c8 18 stayed (INACTIVE after the window)   c9 45 stayed (activity at the window's start)
#   c10 45 churned (deleted in the window, despite its activity)   g1 0 stayed
# acme: 7 customers, 4 churned. AUC: churners 41, 91, 10, 45 against stayers 0, 18, 45:
#   41 beats 0, 18 (2); 91 beats all (3); 10 beats 0 (1); 45 beats 0, 18, ties 45 (2.5)
#   -> 8.5 / 12. Alerted (>= 80): c2 only, a churner: precision 1/1, recall 1/4.
#   Top decile: 0.7 places, all at the unique top score 91 (churned): rate 1, overall 4/7,
#   lift 1 / (4/7) = 1.75.
EXPECTED_ACME = {
    "evaluated_as_of_date": EVALUATED,
    "horizon_days": 60,
    "customers": 7,
    "churned": 4,
    "churn_rate": pytest.approx(4 / 7),
    "auc": pytest.approx(8.5 / 12),
    "alert_threshold": 80,
    "alerted": 1,
    "precision_at_threshold": 1.0,
    "recall_at_threshold": 0.25,
    "top_decile_lift": pytest.approx(1.75),
}
# Calibration, acme: low (0-29) c6 0, c7 10 C, c8 18 -> 3, 1, mean 28/3; medium (30-59) c1 41 C,
# c9 45, c10 45 C -> 3, 2, mean 131/3; high (60-79) nobody; critical (80-100) c2 91 C -> 1, 1.
EXPECTED_ACME_BANDS = {
    "band": ["low", "medium", "high", "critical"],
    "min_score": [0, 30, 60, 80],
    "max_score": [29, 59, 79, 100],
    "customers": [3, 3, 0, 1],
    "churned": [1, 2, 0, 1],
    "churn_rate": [pytest.approx(1 / 3), pytest.approx(2 / 3), None, 1.0],
    "mean_score": [pytest.approx(28 / 3), pytest.approx(131 / 3), None, 91.0],
}


@pytest.fixture
def backtested(instance, engine, settings, load_sources, tmp_path, monkeypatch) -> list[str]:
    monkeypatch.delenv("CRM_SCORING_CHURN_HORIZON_DAYS", raising=False)
    load_sources(SOURCES)
    registered = operations.sync_tenants(instance, engine, settings)
    [scored] = operations.score_day(instance, EVALUATED, registered, None, tmp_path / "run.log")
    assert scored.success
    with engine.begin() as connection:
        connection.execute(
            text(
                f"update {settings.source_schema}.customer_profiles set status = :status, "
                "updated_at = :updated_at, deleted_at = :deleted_at where id = :id"
            ),
            LATER_PROFILE_CHANGES,
        )
    [backtest] = operations.score_day(instance, DAY, registered, None, tmp_path / "run.log")
    assert backtest.success
    return registered


def _rows(engine, settings, table: str, day: date) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(
                f"select * from {settings.analytics_schema}.{table} where as_of_date = :day "
                "order by tenant_id, " + ("band_order" if table.endswith("calibration") else "as_of_date")
            ),
            connection,
            params={"day": day},
        )


def _nulls_as_none(records: list[dict]) -> list[dict]:
    return [{key: None if pd.isna(value) else value for key, value in row.items()} for row in records]


def test_outcomes_and_figures_in_tables_and_dagster_metadata(backtested, instance, engine, settings) -> None:
    outcomes = churn_outcomes(
        engine,
        scores_table=f"{settings.analytics_schema}.customer_scores",
        history_table=f"{settings.analytics_schema}.profile_history",
        activities_table=f"{settings.source_schema}.activities",
        as_of_date=EVALUATED,
        tenant_ids=["acme", "globex"],
        window_start=WINDOW_START,
        window_end=WINDOW_END,
    )
    churned = {row.customer_id: row.churned for row in outcomes.itertuples()}
    assert churned == {
        "c1": True, "c2": True, "c6": False, "c7": True, "c8": False, "c9": False, "c10": True, "g1": False
    }  # fmt: skip
    assert all(isinstance(value, bool) for value in churned.values())  # never null

    figures = _nulls_as_none(_rows(engine, settings, "churn_backtest", DAY).to_dict("records"))
    assert [row["tenant_id"] for row in figures] == ["acme", "globex"]
    acme, globex = figures
    assert {key: acme[key] for key in EXPECTED_ACME} == EXPECTED_ACME
    # globex: g1 (0) stayed: one class only, nobody alerted, no churner -> all undefined.
    assert (globex["customers"], globex["churned"], globex["churn_rate"], globex["alerted"]) == (1, 0, 0, 0)
    assert globex["auc"] is None and globex["top_decile_lift"] is None
    assert globex["precision_at_threshold"] is None and globex["recall_at_threshold"] is None

    bands = _rows(engine, settings, "churn_backtest_calibration", DAY)
    acme_bands = _nulls_as_none(bands[bands["tenant_id"] == "acme"].to_dict("records"))
    assert {key: [row[key] for row in acme_bands] for key in EXPECTED_ACME_BANDS} == EXPECTED_ACME_BANDS
    assert set(bands["evaluated_as_of_date"]) == {EVALUATED}
    globex_bands = bands[bands["tenant_id"] == "globex"].set_index("band")
    assert globex_bands["customers"].to_dict() == {"low": 1, "medium": 0, "high": 0, "critical": 0}

    metadata = dataset.partition_metadata(instance, "churn_backtest", "acme", DAY)
    assert metadata["customers_evaluated"] == 7  # globex's 1 is in its own partition
    assert (
        "| 2026-03-15 | acme | 7 | 4 | 57.1% | 0.708 | 80 | 1 | 100.0% | 25.0% | 1.75x |"
        in (metadata["figures"])
    )
    assert "globex" not in metadata["figures"] + metadata["calibration"] + metadata["lift_curve"]
    # critical band: 1 of 1 churned -> a full 20-block bar; low: 1/3 -> 6.67 blocks = 6 and 5/8
    assert "| critical | 80-100 | 1 | 91.0 | 1 | 100.0% | " + "█" * 20 + " |" in metadata["calibration"]
    assert "| low | 0-29 | 3 | 9.3 | 1 | 33.3% | ██████▋ |" in metadata["calibration"]
    # the top 10% of acme (0.7 customers) holds 0.7 of its 4 churners: 17.5%, lift 1.75
    assert "| 10% | 0.7 | 0.7 | 17.5% |" in metadata["lift_curve"]
    assert "not_evaluated" not in metadata
    assert dataset.partition_metadata(instance, "churn_backtest", "globex", DAY)["customers_evaluated"] == 1


def test_rerun_replaces_and_a_day_without_scores_records_nothing(
    backtested, instance, engine, settings, tmp_path
) -> None:
    before = _rows(engine, settings, "churn_backtest", DAY)
    [rerun] = operations.score_day(instance, DAY, backtested, None, tmp_path / "rerun.log")
    assert rerun.success
    after_rerun = _rows(engine, settings, "churn_backtest", DAY)
    assert len(after_rerun) == 2 and len(_rows(engine, settings, "churn_backtest_calibration", DAY)) == 8
    assert set(after_rerun["run_id"]) == {rerun.run_id} != set(before["run_id"])
    assert after_rerun["auc"].tolist()[0] == pytest.approx(8.5 / 12)

    # D + 1 would evaluate 2026-03-16, which nobody scored.
    next_day = DAY + timedelta(days=1)
    [run] = operations.score_day(instance, next_day, backtested, None, tmp_path / "run.log")
    assert run.success
    assert _rows(engine, settings, "churn_backtest", next_day).empty
    assert _rows(engine, settings, "churn_backtest_calibration", next_day).empty
    for tenant in ("acme", "globex"):
        metadata = dataset.partition_metadata(instance, "churn_backtest", tenant, next_day)
        assert metadata["customers_evaluated"] == 0
        assert metadata["evaluated_as_of_date"] == "2026-03-16"
        assert metadata["not_evaluated"] == "no ACTIVE customer scored on the evaluated day, nothing recorded"
        assert metadata["figures"] == "No customer to evaluate."


# Backfilled history: everything is loaded at once, after the fact, as a new tenant backfilling
# a year would. The history starts today, so E's profile states are reconstructed: a customer
# INACTIVE today since a change inside the window was ACTIVE on E, and is evaluated.
# h1: INACTIVE since 20 days into the window, last activity 10 days before E -> churned.
# h2: ACTIVE, the same activity, plus one in the window -> stayed.
# h3: INACTIVE since 20 days into the window, active in it too -> churned (status change).
# h4: ACTIVE, last activity 40 days before E, none in the window -> churned (no activity).
# h5: INACTIVE since 10 days before E: INACTIVE on E, not evaluated.
# Scores of E (no opt-ins, no ltv, never opened an email: drop risk 50 -> 10 churn points):
#   h1, h2, h3: activity 10 days ago, one in 30 days, none older: decline 0 -> churn 10.
#   h4: 40 days since the last activity, none in 30 days -> decline 60 -> 21 + 10 = 31.
# Evaluated h1-h4, churned h1, h3, h4: AUC = churners 10, 10, 31 against stayer 10:
#   0.5 + 0.5 + 1 = 2 of 3 pairs.
BACKFILLED = {
    "customer_profiles": [
        profile("h1", "hooli", status="INACTIVE", created_at=LONG_AGO, updated_at=after(20)),
        profile("h2", "hooli", created_at=LONG_AGO, updated_at=LONG_AGO),
        profile("h3", "hooli", status="INACTIVE", created_at=LONG_AGO, updated_at=after(20)),
        profile("h4", "hooli", created_at=LONG_AGO, updated_at=LONG_AGO),
        profile("h5", "hooli", status="INACTIVE", created_at=LONG_AGO, updated_at=after(-10)),
    ],
    "activities": [
        *(activity(c, "LOGIN", after(-10), tenant="hooli") for c in ("h1", "h2", "h3", "h5")),
        activity("h4", "LOGIN", after(-40), tenant="hooli"),
        activity("h2", "LOGIN", after(5), tenant="hooli"),
        activity("h3", "LOGIN", after(10), tenant="hooli"),
    ],
}


def test_a_backfilled_history_counts_status_changes_and_silence_as_churn(
    instance, engine, settings, load_sources, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("CRM_SCORING_CHURN_HORIZON_DAYS", raising=False)
    load_sources(BACKFILLED)
    registered = operations.sync_tenants(instance, engine, settings)
    hooli = [key for key in registered if key == "hooli"]
    for day in (EVALUATED, DAY):
        [run] = operations.score_day(instance, day, registered, hooli, tmp_path / "run.log")
        assert run.success
    scores = _rows(engine, settings, "customer_scores", EVALUATED).set_index("customer_id")
    assert scores.loc[["h1", "h2", "h3", "h4", "h5"], "status"].tolist() == ["ACTIVE"] * 4 + ["INACTIVE"]
    assert scores.loc[["h1", "h2", "h3", "h4"], "churn_risk_score"].tolist() == [10, 10, 10, 31]

    [figures] = _nulls_as_none(_rows(engine, settings, "churn_backtest", DAY).to_dict("records"))
    assert (figures["tenant_id"], figures["customers"], figures["churned"]) == ("hooli", 4, 3)
    assert figures["auc"] == pytest.approx(2 / 3)


# The model's predictions of E for acme, as if from a registry model validated up to
# 2025-12-01 (tests/unit/churn_frames: it learned from events up to 2026-01-30, before E):
# the four churners c2, c10, c7, c1 first, a perfect order.
MODEL_PREDICTIONS = [
    ("c2", 0.9),
    ("c10", 0.7),
    ("c7", 0.6),
    ("c1", 0.5),
    ("c9", 0.3),
    ("c8", 0.2),
    ("c6", 0.1),
]


def test_the_rule_and_the_model_side_by_side_out_of_time(
    backtested, instance, engine, settings, database_url, monkeypatch
) -> None:
    # the backtest's population (every ACTIVE customer), so the labels are EXPECTED_ACME's
    monkeypatch.setenv("CRM_SCORING_CHURN_MODEL_POPULATION", "all_active")
    assert _rows(engine, settings, "churn_model_backtest", DAY).empty  # no predictions when scored
    assert (
        "no churn_predictions on 2026-03-15"
        in (dataset.partition_metadata(instance, "churn_model_backtest", "acme", DAY)["not_evaluated"])
    )
    [version] = save_training_run(
        engine,
        settings.analytics_schema,
        train_churn_models(synthetic({"acme": 300}, seed=5), CONFIG, ["acme"]),
        training_run="test",
        trained_at=datetime(2026, 3, 1, tzinfo=dataset.AS_OF.tzinfo),
    )
    predictions = pd.DataFrame(
        [
            {"as_of_date": EVALUATED, "tenant_id": "acme", "customer_id": customer, "churn_probability": p,
             "churn_rank": rank, "model_version": version, "predicted_at": WINDOW_START, "run_id": "test"}
            for rank, (customer, p) in enumerate(MODEL_PREDICTIONS, start=1)
        ]
    )  # fmt: skip
    replace_partition_rows(
        engine, f"{settings.analytics_schema}.churn_predictions", EVALUATED, ["acme"], predictions
    )
    result = dg.materialize(
        [churn_model_backtest],
        instance=instance,
        resources={"warehouse": warehouse_resource(database_url)},
        tags={
            RANGE_START_TAG: str(scoring_key(str(DAY), "acme")),
            RANGE_END_TAG: str(scoring_key(str(DAY), "globex")),
        },
    )
    assert result.success

    rows = _rows(engine, settings, "churn_model_backtest", DAY).set_index("scorer")
    assert sorted(rows.index) == ["model", "rule"] and set(rows["tenant_id"]) == {"acme"}
    assert set(rows["customers"]) == {7} and set(rows["churned"]) == {4}
    assert set(rows["evaluated_as_of_date"]) == {EVALUATED} and set(rows["model_version"]) == {version}
    # the same figures as churn_backtest's for the rule (EXPECTED_ACME), the model's by hand:
    # a perfect order has AUC 1; both put a churner first, so the top 0.7 places hold 0.7
    # churners (lift 1.75) and the 5% budget's 0.35 places 0.35 of the 4 (recall 0.0875).
    rule, model = rows.loc["rule"], rows.loc["model"]
    assert rule["auc"] == pytest.approx(8.5 / 12) and model["auc"] == pytest.approx(1.0)
    assert rule["top_decile_lift"] == pytest.approx(1.75) == model["top_decile_lift"]
    assert rule["recall_at_budget"] == pytest.approx(0.35 / 4) == model["recall_at_budget"]
    assert rows["alert_budget_percent"].tolist() == [5.0, 5.0]
    # Brier of the stored probabilities: (.01 + .09 + .16 + .25 + .09 + .04 + .01) / 7
    assert model["brier"] == pytest.approx(0.65 / 7)
    assert rule["auc_low"] <= rule["auc"] <= rule["auc_high"]

    acme = dataset.partition_metadata(instance, "churn_model_backtest", "acme", DAY)
    assert (acme["customers_compared"], acme["labelled_not_compared"]) == (7, 0)
    assert "| AUC | 0.708 (" in acme["figures"] and "| +0.292 |" in acme["figures"]
    assert acme["charts"].startswith("![ROC and calibration](data:image/png;base64,")
    globex = dataset.partition_metadata(instance, "churn_model_backtest", "globex", DAY)
    assert globex["not_evaluated"].startswith("no churn_predictions on 2026-03-15")
