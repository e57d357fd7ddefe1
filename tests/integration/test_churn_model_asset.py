"""The churn_model asset end to end on a scored day of the hand-built dataset: the training rows
read from customer_features and the backtest's outcomes, and the registry entry of a tenant that
has too little labelled history, with the reason in the Dagster metadata."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from crm_scoring import operations
from crm_scoring.defs.churn_model import churn_model
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.warehouse.churn_training import rule_feature_training_frame
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


def test_training_rows_hold_point_in_time_features_and_no_profile_field(scored, engine, settings) -> None:
    frame = rule_feature_training_frame(
        engine,
        features_table=f"{settings.analytics_schema}.customer_features",
        scores_table=f"{settings.analytics_schema}.customer_scores",
        history_table=f"{settings.analytics_schema}.profile_history",
        activities_table=f"{settings.source_schema}.activities",
        tenant_ids=["acme", "globex"],
        days=[MONTH_END, date(2026, 2, 28)],  # nobody scored Feb 28: no rows for it
        horizon_days=60,
        tz=settings.tz,
    ).set_index("customer_id")
    assert set(frame["as_of_date"]) == {MONTH_END}
    # The ACTIVE customers (c3 is INACTIVE, c4 MERGED, c5 deleted): c1, c2, c6, c7, c8 and g1.
    assert sorted(frame.index) == ["c1", "c2", "c6", "c7", "c8", "g1"]
    # c6's last activity: a page view on 2026-03-15 00:00 -> 17 days before 2026-04-01 00:00.
    assert frame.loc["c6", "days_since_last_activity"] == pytest.approx(17.0)
    # c1's last: the purchase at 2026-03-16 01:00 (after the dataset's day, before this one).
    assert frame.loc["c1", "days_since_last_activity"] == pytest.approx(15 + 23 / 24)
    # c2's last: a failed payment 62 days before 2026-03-16, i.e. 78 days before 2026-04-01
    assert frame.loc["c2", "days_since_last_activity"] == pytest.approx(78.0)
    # downgrades 116 (c1), 166 (c2) and 26 (c8, the tie broken by id) days before as_of: all
    # within the 180 days of latest_tier_change_reason
    assert frame["tier_downgraded_180d"].to_dict() == {"c1": 1, "c2": 1, "c6": 0, "c7": 0, "c8": 1, "g1": 0}
    # the dataset has no event after 2026-03-16: nobody was active in the 60 days after as_of
    assert frame["churned"].all()
    assert not {"lifetime_value", "email_opt_in", "last_email_open_at", "status"} & set(frame.columns)


def test_asset_records_why_a_tenant_has_no_model(
    scored, module_instance, engine, settings, database_url
) -> None:
    result = dg.materialize(
        [churn_model],
        instance=module_instance,
        resources={"warehouse": WarehouseResource(database_url=database_url)},
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
    assert metadata["labelled_rows"].value == 6
    assert metadata["models_trained"].value == 0
    assert metadata["labelled_days"].value.endswith("2026-02-28, 2026-03-31")
    assert "| acme | none | no model: 1 labelled day(s)" in metadata["tenants"].value
    assert metadata["figures"].value == "No model trained."
