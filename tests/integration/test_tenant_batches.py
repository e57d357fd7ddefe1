"""A day scored in batches of tenants (CRM_SCORING_BATCH_CUSTOMERS) writes what one batch of
every tenant writes, and reports the day's unknown-tenant events once."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.settings import BATCH_CUSTOMERS_ENV
from tests.integration import dataset
from tests.integration.dataset import activity, ago

pytestmark = pytest.mark.integration

TABLES = [
    "customer_scores",
    "churn_alerts",
    "engagement_distribution",
    "churn_risk_overview",
    "customer_score_trends",
    "tenant_daily_averages",
]
VOLATILE = {"scored_at", "run_id", "raised_at"}
# An event on the day of a customer no tenant has: the day's unknown-tenant bucket. It changes
# no score, so the rows stay comparable with the default run's.
NOBODY = activity("nobody-1", "LOGIN", ago(0.5), tenant=None)
UNKNOWN_RULE = "activities ignored: unknown_customer (unknown tenant)"


def _tables(engine, settings) -> dict[str, pd.DataFrame]:
    with engine.connect() as connection:
        return {
            table: pd.read_sql_query(
                text(f"select * from {settings.analytics_schema}.{table} order by 1, 2, 3"), connection
            ).drop(columns=VOLATILE, errors="ignore")
            for table in TABLES
        }


def test_batches_of_one_tenant_write_the_rows_of_one_batch_of_all(
    scored_day, instance, engine, settings, load_sources, monkeypatch, tmp_path
) -> None:
    default = _tables(engine, settings)
    assert len(default["customer_scores"]) == len(dataset.EXPECTED)  # the default run's rows
    load_sources({**dataset.SOURCES, "activities": [*dataset.SOURCES["activities"], NOBODY]})
    # acme has 6 customers, globex 1: under a bound of 2 each is a batch of its own.
    monkeypatch.setenv(BATCH_CUSTOMERS_ENV, "2")
    registered = operations.sync_tenants(instance, engine, settings)
    [outcome] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert outcome.success, (tmp_path / "run.log").read_text()[-3000:]

    messages = {entry.user_message for entry in instance.all_logs(outcome.run_id)}
    assert f"{dataset.DAY}: scored 6 customers of 1 tenant(s)" in messages  # acme's batch
    assert f"{dataset.DAY}: scored 1 customers of 1 tenant(s)" in messages  # globex's
    batched = _tables(engine, settings)
    for table in TABLES:
        pd.testing.assert_frame_equal(batched[table], default[table], obj=table)

    # Each partition shows the day's unknown-tenant event; the check counts it once, not per batch.
    for tenant in ("acme", "globex"):
        assert dataset.partition_metadata(instance, "customer_scores", tenant)[f"rule: {UNKNOWN_RULE}"] == 1
    key = dg.AssetCheckKey(dg.AssetKey("customer_scores"), "input_rows_excluded_by_rule")
    execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    assert execution.run_id == outcome.run_id
    evaluation = execution.event.dagster_event.event_specific_data
    assert evaluation.metadata[UNKNOWN_RULE].value == 1
    assert evaluation.description.startswith(f"needs action: 1 {UNKNOWN_RULE}")
