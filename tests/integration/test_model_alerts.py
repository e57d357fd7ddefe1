"""Model alerts (scoring config churn.alert_source: model) on the scored day of the hand-built
dataset: the opted-in tenant is alerted on exactly its top churn_predictions ranks and the
lifecycle sends them with their reason, the other tenant keeps the rule's alerts, and without
predictions the opted-in tenant falls back to the rule and says so."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.defs.alert_lifecycle import churn_alert_episodes
from crm_scoring.defs.alerts import churn_alerts
from crm_scoring.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from crm_scoring.defs.partitions import scoring_key
from crm_scoring.defs.resources import warehouse_resource
from crm_scoring.settings import BATCH_CUSTOMERS_ENV
from crm_scoring.warehouse.writes import replace_partition_rows
from tests.integration import dataset

pytestmark = pytest.mark.integration

# acme's customers ACTIVE on the day, as the model might rank them: c1 and c8 tie on probability.
ACME_PREDICTIONS = [("c7", 0.8, 1), ("c1", 0.6, 2), ("c8", 0.6, 3), ("c2", 0.2, 4), ("c6", 0.1, 5)]
CONFIG = """\
version: test
tenants:
  acme:
    churn: {alert_source: model, model_alert: {top_percent: 40}}
  globex:
    churn: {alert_threshold: 0}
"""


def _materialize(instance, database_url, assets) -> dg.ExecuteInJobResult:
    return dg.materialize(
        assets,
        instance=instance,
        resources={"warehouse": warehouse_resource(database_url)},
        tags={
            RANGE_START_TAG: str(scoring_key(str(dataset.DAY), "acme")),
            RANGE_END_TAG: str(scoring_key(str(dataset.DAY), "globex")),
        },
    )


def _alerts(engine, settings) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(
            text(
                "select tenant_id, customer_id, churn_risk_score, alert_source, churn_probability, reason "
                f"from {settings.analytics_schema}.churn_alerts order by tenant_id, customer_id"
            ),
            connection,
        )


def _outbox(engine, settings) -> dict[str, dict]:
    """{customer_id: payload} of the alert outbox."""
    with engine.connect() as connection:
        return {
            row.payload["customer_id"]: row.payload
            for row in connection.execute(
                text(f"select payload from {settings.analytics_schema}.alert_outbox")
            )
        }


@pytest.mark.parametrize("batch_customers", [None, "2"])
def test_an_opted_in_tenant_is_alerted_on_its_top_ranks_the_other_keeps_the_rule(
    scored_day, instance, engine, settings, database_url, tmp_path, monkeypatch, batch_customers
) -> None:
    if batch_customers:
        # acme's 6 scores in chunks of 2: its budget is still counted over all 5 predictions.
        monkeypatch.setenv(BATCH_CUSTOMERS_ENV, batch_customers)
    config = tmp_path / "scoring.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("CRM_SCORING_CONFIG", str(config))
    predictions = pd.DataFrame(
        [
            {
                "as_of_date": dataset.DAY,
                "tenant_id": "acme",
                "customer_id": customer,
                "churn_probability": probability,
                "churn_rank": rank,
                "model_version": "churn-test",
                "driver_1": "silent for 40 days" if rank == 1 else None,
                "predicted_at": datetime.now(UTC).isoformat(),
                "run_id": "test",
            }
            for customer, probability, rank in ACME_PREDICTIONS
        ]
    )
    table = f"{settings.analytics_schema}.churn_predictions"
    replace_partition_rows(engine, table, dataset.DAY, ["acme"], predictions)

    sent_before = _outbox(engine, settings)
    assert sorted(sent_before) == ["c2"]  # the scoring run's rule alert
    assert _materialize(instance, database_url, [churn_alerts, churn_alert_episodes]).success
    alerts = _alerts(engine, settings).set_index(["tenant_id", "customer_id"])
    # acme: ceil(40% x 5) = 2 best ranks, c7 and c1 (c8 ties c1 but ranks 3rd); not the rule's
    # c2 (91 >= 80). globex: the rule at its threshold 0, its one ACTIVE customer g1.
    assert sorted(alerts.index) == [("acme", "c1"), ("acme", "c7"), ("globex", "g1")]
    assert alerts.loc[("acme", "c7"), "alert_source"] == "model"
    assert alerts.loc[("acme", "c1"), "churn_probability"] == 0.6
    assert alerts.loc[("acme", "c7"), "reason"] == (
        "churn model churn-test: probability 0.80, rank 1 (top 40% by churn probability); "
        "drivers: silent for 40 days"
    )
    assert alerts.loc[("globex", "g1"), "alert_source"] == "rule"
    assert pd.isna(alerts.loc[("globex", "g1"), "reason"])
    acme_meta = dataset.partition_metadata(instance, "churn_alerts", "acme")
    assert (acme_meta["alert_source"], acme_meta["alerts_raised"]) == ("model", 2)
    assert dataset.partition_metadata(instance, "churn_alerts", "globex")["threshold"] == 0

    # the lifecycle opened all three; the model's payloads say so, the rule's stays as it was
    payloads = _outbox(engine, settings)
    assert sorted(payloads) == ["c1", "c2", "c7", "g1"]  # c2's stays: a delivery is never undone
    assert payloads["c1"]["alert_source"] == "model" and payloads["c1"]["churn_probability"] == 0.6
    assert payloads["c7"]["reason"] == alerts.loc[("acme", "c7"), "reason"]
    assert set(payloads["g1"]) == {
        "event", "alert_id", "tenant_id", "customer_id", "opened_on", "churn_risk_score"
    }  # fmt: skip

    # without predictions for the day acme falls back to the rule (c2) and says so
    replace_partition_rows(engine, table, dataset.DAY, ["acme"], predictions.iloc[0:0])
    result = _materialize(instance, database_url, [churn_alerts])
    assert result.success
    alerts = _alerts(engine, settings)
    assert alerts[["tenant_id", "customer_id", "alert_source"]].values.tolist() == [
        ["acme", "c2", "rule"],
        ["globex", "g1", "rule"],
    ]
    acme_meta = dataset.partition_metadata(instance, "churn_alerts", "acme")
    assert "no rows for the day" in acme_meta["model_fallback"]
    # the run's count, on each partition's materialization
    counts = {
        m.metadata["model_fallbacks"].value for m in result.asset_materializations_for_node("churn_alerts")
    }
    assert counts == {1}
