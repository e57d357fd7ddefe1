"""The churn_model asset end to end on a scored day of the hand-built dataset: the training rows
(behaviour features with per-type counts, labels, the rule score beside them) and the registry
entry of a tenant that has too little labelled history, with the reason in the Dagster
metadata."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
import pytest

from crm_scoring.app import operations
from crm_scoring.defs.churn_model import churn_model
from crm_scoring.defs.resources import warehouse_resource
from crm_scoring.model.training import feature_columns
from crm_scoring.settings import ALL_ACTIVE_POPULATION
from crm_scoring.warehouse.model_inputs import labelled_training_frame
from crm_scoring.warehouse.model_registry import NOT_TRAINED, latest_for_tenant
from tests.integration import dataset

pytestmark = pytest.mark.integration

# A month-end, so the asset's labelled month-ends include it: as_of = 2026-04-01 00:00 UTC.
MONTH_END = date(2026, 3, 31)


@pytest.fixture(scope="module")
def scored(module_instance, engine, settings, load_sources, tmp_path_factory) -> list[str]:
    load_sources(dataset.SOURCES)
    registered = operations.sync_tenants(module_instance, engine, settings)
    log = tmp_path_factory.mktemp("logs") / "run.log"
    [run] = operations.score_day(module_instance, MONTH_END, registered, None, log)
    assert run.success
    return registered


def _frame(engine, settings, **population) -> pd.DataFrame:
    return labelled_training_frame(
        engine,
        settings,
        ["acme", "globex"],
        [date(2026, 2, 28), MONTH_END],  # nobody scored Feb 28: no rows for it
        # the end of 2026-05-30 = as_of(2026-03-31 + 60 days): March 31's horizon has just passed
        observed_until=datetime(2026, 5, 31, tzinfo=UTC),
        **population,
    ).set_index("customer_id")


def test_training_rows_hold_behaviour_features_labels_and_the_rule_score(scored, engine, settings) -> None:
    frame = _frame(engine, settings, population=ALL_ACTIVE_POPULATION)
    assert set(frame["as_of_date"]) == {MONTH_END}
    # The ACTIVE customers (c3 is INACTIVE, c4 MERGED, c5 deleted): c1, c2, c6, c7, c8 and g1.
    assert sorted(frame.index) == ["c1", "c2", "c6", "c7", "c8", "g1"]
    # the dataset has no event after 2026-03-16: nobody was active in the 60 days after as_of
    assert frame["churned"].all()
    # c6's last activity: a page view on 2026-03-15 00:00 -> 17 days before 2026-04-01 00:00.
    assert frame.loc["c6", "days_since_last_activity"] == pytest.approx(17.0)
    # c1's last: the purchase at 2026-03-16 01:00 (after the dataset's day, before this one).
    assert frame.loc["c1", "days_since_last_activity"] == pytest.approx(15 + 23 / 24)
    # Per-type columns for each tenant's own types over the 90 days before 2026-04-01 (from
    # 2026-01-01): acme's page views 9 (c1 7, c6 2), payment failures 3 (c1 1, c2 2: the third
    # is 96 days old), tier changes 3 (c8), logins 2, one payment, one purchase; globex's page
    # views (g1's 20, one of them labelled acme). The union, each tenant's most frequent first,
    # ties by name.
    types = [column.split("__")[1] for column in frame.columns if column.endswith("__count_90d")]
    assert types == ["PAGE_VIEW", "PAYMENT_FAILED", "TIER_CHANGED", "LOGIN", "PAYMENT_RECEIVED", "PURCHASE"]
    assert frame.loc["c2", "type__PAYMENT_FAILED__count_90d"] == 2
    assert frame.loc["g1", "type__PAGE_VIEW__count_90d"] == 20
    assert frame.loc["g1", "type__LOGIN__count_90d"] == 0  # a type globex does not have
    # c1's page views were 56-62 days before as_of: in 90 days, not in 30
    assert (frame.loc["c1", "type__PAGE_VIEW__count_90d"], frame.loc["c1", "type__PAGE_VIEW__count_30d"]) == (
        7,
        0,
    )
    # the rule's score rides along for the comparison, but is never a feature; nor is any
    # profile field
    assert frame["churn_risk_score"].between(0, 100).all()
    features = feature_columns(frame.reset_index())
    assert "churn_risk_score" not in features and "churned" not in features
    assert not {"lifetime_value", "email_opt_in", "last_email_open_at", "status"} & set(frame.columns)


def test_by_default_the_rows_are_the_customers_not_already_churned(scored, engine, settings) -> None:
    # as_of 2026-04-01 00:00, horizon 60 days: at risk = an activity in [2026-01-31 00:00,
    # 2026-04-01) (or created since). c2's last activity is the failed payment 62 days before
    # 2026-03-16 = 2026-01-13, 78 days before as_of, and it was created in 2025: already gone
    # silent for the whole horizon, so out, though still ACTIVE in the CRM. The others acted
    # within 26 days (c8's tier changes; c7's login 24 days, c1, c6 and g1 within 17).
    at_risk = _frame(engine, settings)
    assert sorted(at_risk.index) == ["c1", "c6", "c7", "c8", "g1"]
    # the rows kept are the same rows, labels and features as in the backtest's population
    everyone = _frame(engine, settings, population=ALL_ACTIVE_POPULATION)
    pd.testing.assert_frame_equal(at_risk, everyone.drop(index="c2"))


def test_asset_records_why_a_tenant_has_no_model(
    scored, module_instance, engine, settings, database_url
) -> None:
    result = dg.materialize(
        [churn_model],
        instance=module_instance,
        resources={"warehouse": warehouse_resource(database_url)},
        # horizon 60: the newest labelled month-end is 2026-05-30 - 60 days = 2026-03-31
        run_config={"ops": {"churn_model": {"config": {"observed_until": "2026-05-30"}}}},
    )
    assert result.success
    for tenant in ("acme", "globex"):
        entry = latest_for_tenant(engine, settings.analytics_schema, tenant)
        assert entry.status == NOT_TRAINED and entry.model is None
        assert entry.training_run == result.run_id
        assert entry.reasons[tenant].startswith("no model: 1 labelled day(s): at least 4 are needed")
    metadata = result.asset_materializations_for_node("churn_model")[0].metadata
    assert metadata["population"].value == "at_risk"
    assert metadata["labelled_rows"].value == 5  # c2 had already gone silent (test above)
    assert metadata["models_trained"].value == 0
    assert metadata["labelled_days"].value.endswith("2026-02-28, 2026-03-31")
    assert "| acme | none | no model: 1 labelled day(s)" in metadata["tenants"].value
    assert metadata["figures"].value == "No model trained."
