"""churn_predictions on the scored day of the hand-built dataset, with models saved in the
registry: the stored model's own probabilities, ranks, drivers for the top only, a tenant
without a model says why, a rerun writes the same rows, a broken model fails only its tenant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.defs.churn_predictions import EVERY_TENANT_CHECK, churn_predictions
from crm_scoring.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from crm_scoring.defs.partitions import scoring_key
from crm_scoring.defs.resources import warehouse_resource
from crm_scoring.model.serving import DRIVER_COLUMNS
from crm_scoring.model.training import NO_MODEL, PER_TENANT, train_churn_models
from crm_scoring.settings import ALL_ACTIVE_POPULATION, AT_RISK_POPULATION
from crm_scoring.warehouse.model_inputs import training_frame
from crm_scoring.warehouse.model_registry import load_model, save_training_run
from tests.integration import dataset
from tests.unit.churn_frames import CONFIG, synthetic

pytestmark = pytest.mark.integration

# Before the end of dataset.DAY (2026-03-16 00:00 UTC): the model of the time for that day. The
# synthetic frames are validated up to 2025-12-01, so their models learned from events up to
# 2025-12-01 + 60 days = 2026-01-30, before the day.
TRAINED_AT = datetime(2026, 3, 1, 4, tzinfo=UTC)
# The customers ACTIVE on the day (dataset.py): c3 is INACTIVE, c4 MERGED, c5 deleted. Of them,
# the at_risk population (horizon 60 days: an activity in the 60 days before as_of) leaves out c2,
# whose last activity is 62 days before as_of: churned already by the label's definition.
ACME_ACTIVE = ["c1", "c2", "c6", "c7", "c8"]
ACME_AT_RISK = ["c1", "c6", "c7", "c8"]
KEYS = ["as_of_date", "tenant_id", "customer_id"]


@pytest.fixture(scope="module")
def acme_only():
    """acme's own model (on synthetic rows of its two features), learned on every ACTIVE customer
    (all_active: c2 is then ranked, the top of the list, with drivers); globex: no model, no
    labelled day."""
    config = replace(CONFIG, population=ALL_ACTIVE_POPULATION)
    return train_churn_models(synthetic({"acme": 300}, seed=5), config, ["acme", "globex"])


@pytest.fixture(scope="module")
def both():
    return train_churn_models(synthetic({"acme": 300, "globex": 300}, seed=6), CONFIG)


def _save(engine, settings, scopes) -> dict[str, str]:
    """{tenant: model_version} of a training run written at TRAINED_AT."""
    versions = save_training_run(
        engine, settings.analytics_schema, scopes, training_run="test", trained_at=TRAINED_AT
    )
    return {
        tenant: version
        for scope, version in zip(scopes, versions, strict=True)
        for tenant in scope.tenant_ids
    }


def _predict(instance, database_url) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [churn_predictions],
        instance=instance,
        resources={"warehouse": warehouse_resource(database_url)},
        tags={
            RANGE_START_TAG: str(scoring_key(str(dataset.DAY), "acme")),
            RANGE_END_TAG: str(scoring_key(str(dataset.DAY), "globex")),
        },
    )


def _rows(engine, settings) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(
            text(
                f"select * from {settings.analytics_schema}.churn_predictions order by tenant_id, churn_rank"
            ),
            connection,
        )


def test_a_scored_day_gets_the_stored_models_predictions_ranked(
    scored_day, instance, engine, settings, database_url, acme_only
) -> None:
    assert _rows(engine, settings).empty  # the scoring run had no model to predict with
    assert (
        "no registry entry" in dataset.partition_metadata(instance, "churn_predictions", "acme")["no_model"]
    )
    assert {scope.kind for scope in acme_only} == {PER_TENANT, NO_MODEL}
    versions = _save(engine, settings, acme_only)

    result = _predict(instance, database_url)
    assert result.success
    rows = _rows(engine, settings)
    acme = rows[rows["tenant_id"] == "acme"].reset_index(drop=True)
    assert sorted(acme["customer_id"]) == ACME_ACTIVE
    assert set(acme["model_version"]) == {versions["acme"]}
    figures = dataset.partition_metadata(instance, "churn_predictions", "acme")
    assert (figures["population"], figures["active_customers_left_out_as_already_churned"]) == (
        ALL_ACTIVE_POPULATION,
        0,
    )
    # the stored model, loaded again, on the day's training_frame rows
    stored = load_model(engine, settings.analytics_schema, versions["acme"]).model
    frame = training_frame(engine, settings, ["acme"], [dataset.DAY], [])
    frame = frame[frame["customer_id"].isin(ACME_ACTIVE)].reset_index(drop=True)
    expected = dict(zip(frame["customer_id"], stored.predict(frame), strict=True))
    assert dict(zip(acme["customer_id"], acme["churn_probability"], strict=True)) == expected
    assert acme["churn_rank"].tolist() == [1, 2, 3, 4, 5]
    assert acme["churn_probability"].is_monotonic_decreasing
    # drivers for ceil(5 x 5%) = 1 customer: rank 1 only (it has one: otherwise the comparison
    # with the stored model's drivers below would prove nothing)
    assert acme.loc[0, "driver_1"] is not None
    assert acme.loc[1:, DRIVER_COLUMNS].isna().all().all()
    top = frame.index[frame["customer_id"] == acme.loc[0, "customer_id"]][0]
    assert [d for d in acme.loc[0, DRIVER_COLUMNS] if d is not None] == stored.drivers(frame, [top])[0]
    assert set(acme["run_id"]) == {result.run_id}

    # globex: no rows, and its partition says why (the registry's reason)
    assert rows[rows["tenant_id"] == "globex"].empty
    globex = dataset.partition_metadata(instance, "churn_predictions", "globex")
    assert globex["customers_predicted"] == 0
    assert globex["no_model"].startswith("no model: no labelled customer-day")
    assert (
        dataset.partition_metadata(instance, "churn_predictions", "acme")["model_version"] == versions["acme"]
    )

    # a rerun (after a newer training written after the day ended) writes the same rows
    later = train_churn_models(synthetic({"acme": 300}, seed=7), CONFIG)
    save_training_run(
        engine,
        settings.analytics_schema,
        later,
        training_run="later",
        trained_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    rerun = _predict(instance, database_url)
    assert rerun.success
    again = _rows(engine, settings)
    stable = [c for c in again.columns if c not in ("predicted_at", "run_id")]
    pd.testing.assert_frame_equal(again[stable], rows[stable])
    assert set(again["run_id"]) == {rerun.run_id}


def test_an_at_risk_model_predicts_only_the_customers_not_already_churned(
    scored_day, instance, engine, settings, database_url
) -> None:
    _save(engine, settings, train_churn_models(synthetic({"acme": 300}, seed=5), CONFIG, ["acme"]))
    assert _predict(instance, database_url).success
    acme = _rows(engine, settings).query("tenant_id == 'acme'")
    assert sorted(acme["customer_id"]) == ACME_AT_RISK
    assert acme["churn_rank"].tolist() == [1, 2, 3, 4]
    figures = dataset.partition_metadata(instance, "churn_predictions", "acme")
    assert (figures["population"], figures["active_customers_left_out_as_already_churned"]) == (
        AT_RISK_POPULATION,
        1,
    )


def test_a_model_that_fails_to_load_fails_only_its_tenant(
    scored_day, instance, engine, settings, database_url, both
) -> None:
    versions = _save(engine, settings, both)
    assert _predict(instance, database_url).success
    before = _rows(engine, settings)
    assert sorted(before["tenant_id"].unique()) == ["acme", "globex"]
    with engine.begin() as connection:
        connection.execute(
            text(
                f"update {settings.analytics_schema}.model_registry set model_text = 'not a model' "
                "where model_version = :version"
            ),
            {"version": versions["acme"]},
        )
        connection.execute(
            text(f"delete from {settings.analytics_schema}.churn_predictions where tenant_id = 'globex'")
        )

    result = _predict(instance, database_url)
    assert result.success  # the step goes on for the other tenant
    after = _rows(engine, settings)
    # globex written again by this run; acme's rows left as they were
    assert set(after.loc[after["tenant_id"] == "globex", "run_id"]) == {result.run_id}
    acme_before = before[before["tenant_id"] == "acme"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[after["tenant_id"] == "acme"].reset_index(drop=True), acme_before)
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == EVERY_TENANT_CHECK]
    assert not check.passed and "acme" in check.description and "globex" not in check.description
    assert (
        "its rows were left as they were"
        in dataset.partition_metadata(instance, "churn_predictions", "acme")["error"]
    )
