"""The churn-model registry in a real PostgreSQL: what is saved loads back and predicts the same
probabilities; a tenant's latest entry is its model or the reason it has none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from crm_scoring.model.training import NO_MODEL, PER_TENANT, POOLED, train_churn_models
from crm_scoring.settings import Settings
from crm_scoring.warehouse.model_registry import (
    NOT_TRAINED,
    TRAINED,
    latest_for_tenant,
    load_model,
    save_training_run,
)
from tests.unit.churn_frames import CONFIG, synthetic

TRAINED_AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.concat(
        [
            synthetic({"big": 1000}, seed=1),
            synthetic({"small": 12}, seed=2),
            synthetic({"tiny": 20}, seed=3, intercept=-9.0),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def saved(engine: Engine, settings: Settings, frame: pd.DataFrame):
    with engine.begin() as connection:
        connection.execute(text(f"truncate {settings.analytics_schema}.model_registry"))
    scopes = {scope.kind: scope for scope in train_churn_models(frame, CONFIG)}
    ordered = [scopes[PER_TENANT], scopes[POOLED], scopes[NO_MODEL]]
    versions = save_training_run(
        engine, settings.analytics_schema, ordered, training_run="run-1", trained_at=TRAINED_AT
    )
    return dict(zip((PER_TENANT, POOLED, NO_MODEL), zip(versions, ordered, strict=True), strict=True))


def test_a_saved_model_loads_and_predicts_the_same_probabilities(engine, settings, frame, saved) -> None:
    for kind in (PER_TENANT, POOLED):
        version, scope = saved[kind]
        stored = load_model(engine, settings.analytics_schema, version)
        assert stored.status == TRAINED and stored.scope_kind == kind
        assert np.array_equal(stored.model.predict(frame), scope.model.predict(frame))
        matrix = scope.model.matrix(frame)
        assert np.array_equal(stored.baseline.predict(matrix), scope.baseline.predict(matrix))
        assert stored.model.drivers(frame.head(20)) == scope.model.drivers(frame.head(20))
        assert stored.training_days == scope.split.training_days
        assert stored.validation_days == scope.split.validation_days
        assert stored.horizon_days == 60
        tenant = scope.tenant_ids[0]
        assert stored.metrics[tenant]["model"]["auc"] == scope.metrics[tenant]["model"]["auc"].as_dict()
        assert stored.reasons == scope.reasons


def test_the_latest_entry_of_a_tenant_is_its_model_or_why_it_has_none(engine, settings, saved) -> None:
    schema = settings.analytics_schema
    assert latest_for_tenant(engine, schema, "big").model_version == saved[PER_TENANT][0]
    small = latest_for_tenant(engine, schema, "small")
    assert small.scope_kind == POOLED and small.trained_on_tenant_ids == ("big", "small", "tiny")
    tiny = latest_for_tenant(engine, schema, "tiny")
    assert tiny.status == NOT_TRAINED and tiny.model is None
    assert "fewer than 5 to be served by the pooled model" in tiny.reasons["tiny"]
    assert latest_for_tenant(engine, schema, "nobody") is None
    assert latest_for_tenant(engine, schema, "big'] or true --") is None  # bound, not spliced


def test_a_newer_run_supersedes_and_a_failed_save_writes_nothing(engine, settings, frame, saved) -> None:
    schema = settings.analytics_schema
    version, scope = saved[PER_TENANT]
    later = TRAINED_AT + timedelta(days=7)
    with pytest.raises(IntegrityError):  # the second row repeats the first's version: all rolls back
        save_training_run(engine, schema, [scope, scope], training_run="run-2", trained_at=later)
    assert latest_for_tenant(engine, schema, "big").model_version == version
    (newer,) = save_training_run(engine, schema, [scope], training_run="run-3", trained_at=later)
    assert newer != version
    assert latest_for_tenant(engine, schema, "big").model_version == newer
