"""Trends over real score history: changes over 7 and 30 days, rising risk, tenant averages."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.settings import BATCH_CUSTOMERS_ENV
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("batch_customers", [None, "2"])
def test_trends_against_planted_history(
    scored_day, instance, engine, settings, tmp_path, monkeypatch, batch_customers
) -> None:
    if batch_customers:
        # acme's 6 customers in chunks of 2: each chunk reads its own customers' past scores.
        monkeypatch.setenv(BATCH_CUSTOMERS_ENV, batch_customers)
    registered = operations.sync_tenants(instance, engine, settings)
    scores = f"{settings.analytics_schema}.customer_scores"
    with engine.begin() as connection:
        # A week ago: c2's churn risk was 25 lower (91 -> 66), c1's engagement 5 higher (69 -> 74);
        # g1 was not scored. A month ago: only c2, at churn risk 61.
        connection.execute(
            text(
                f"insert into {scores} select as_of_date - 7, tenant_id, customer_id, status, "
                "engagement_score + case when customer_id = 'c1' then 5 else 0 end, "
                "churn_risk_score - case when customer_id = 'c2' then 25 else 0 end, "
                "recency_score, frequency_score, monetary_score, breadth_score, depth_score, "
                "activity_decline_risk, payment_risk, engagement_drop_risk, tier_downgrade_risk, "
                "complaint_risk, top_reasons, as_of - interval '7 days', scored_at, run_id "
                f"from {scores} where as_of_date = :day and customer_id <> 'g1'"
            ),
            {"day": dataset.DAY},
        )
        connection.execute(
            text(
                f"insert into {scores} select as_of_date - 30, tenant_id, customer_id, status, "
                "engagement_score, 61, recency_score, frequency_score, monetary_score, breadth_score, "
                "depth_score, activity_decline_risk, payment_risk, engagement_drop_risk, "
                "tier_downgrade_risk, complaint_risk, top_reasons, as_of - interval '30 days', "
                "scored_at, run_id "
                f"from {scores} where as_of_date = :day and customer_id = 'c2'"
            ),
            {"day": dataset.DAY},
        )
    [second] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert second.success

    with engine.connect() as connection:
        trends = pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.customer_score_trends where as_of_date = :day"),
            connection,
            params={"day": dataset.DAY},
        ).set_index("customer_id")
        averages = {
            row.tenant_id: row
            for row in connection.execute(
                text(
                    f"select * from {settings.analytics_schema}.tenant_daily_averages where as_of_date = :day"
                ),
                {"day": dataset.DAY},
            )
        }
    assert trends.loc["c2", "churn_risk_change_7d"] == 25
    assert trends.loc["c2", "churn_risk_change_30d"] == 30
    assert bool(trends.loc["c2", "rising_risk"]) is True
    assert trends.loc["c1", "engagement_change_7d"] == -5
    assert trends.loc["c1", "churn_risk_change_7d"] == 0
    assert bool(trends.loc["c1", "rising_risk"]) is False
    assert pd.isna(trends.loc["g1", "churn_risk_change_7d"])  # not scored a week ago
    assert pd.isna(trends.loc["c1", "churn_risk_change_30d"])
    assert trends["rising_risk"].sum() == 1
    # acme: engagement (69+11+24+53+42+39)/6 = 39.67, churn (41+91+45+0+10+18)/6 = 34.17
    acme = averages["acme"]
    assert (
        acme.customers,
        acme.avg_engagement_score,
        acme.avg_churn_risk_score,
        acme.rising_risk_customers,
    ) == (6, Decimal("39.67"), Decimal("34.17"), 1)
    assert averages["globex"].customers == 1 and averages["globex"].rising_risk_customers == 0
