"""Optional writeback of scores onto the CRM's profiles, on real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from tests.integration import dataset

pytestmark = pytest.mark.integration


def _profiles(engine, settings) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"select id, engagement_score, churn_risk_score, engagement_score_at, updated_at "
                f"from {settings.source_schema}.customer_profiles"
            )
        )
        return {row.id: row for row in rows}


def _updated(instance, tenant: str) -> int:
    return dataset.partition_metadata(instance, "profile_writeback", tenant)["profiles_updated"]


def test_writeback_is_off_by_default(scored_day, engine, settings):
    # scored_day is scored with the defaults: CRM_SCORING_WRITEBACK unset
    assert all(row.engagement_score is None for row in _profiles(engine, settings).values())


def test_writeback_sets_only_score_columns_and_skips_unchanged(
    instance, engine, settings, load_sources, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CRM_SCORING_WRITEBACK", "1")
    load_sources(dataset.SOURCES)
    before = _profiles(engine, settings)
    registered = operations.sync_tenants(instance, engine, settings)
    [run] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert run.success
    after = _profiles(engine, settings)
    for (_tenant, customer), expected in dataset.EXPECTED.items():
        assert (after[customer].engagement_score, after[customer].churn_risk_score) == (
            expected["engagement_score"],
            expected["churn_risk_score"],
        )
        assert after[customer].updated_at == before[customer].updated_at  # other columns untouched
    assert after["c4"].engagement_score is None and after["c5"].engagement_score is None  # not scored
    assert (_updated(instance, "acme"), _updated(instance, "globex")) == (len(dataset.EXPECTED) - 1, 1)

    operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert _updated(instance, "acme") == _updated(instance, "globex") == 0  # nothing changed: nothing written
    assert _profiles(engine, settings)["c1"].engagement_score_at == after["c1"].engagement_score_at

    with engine.begin() as connection:  # someone else's value on globex's profile
        connection.execute(
            text(
                f"update {settings.source_schema}.customer_profiles set engagement_score = 1 where id = 'g1'"
            )
        )
    operations.score_day(instance, dataset.DAY, registered, ["acme"], tmp_path / "run.log")
    assert _profiles(engine, settings)["g1"].engagement_score == 1  # another tenant: untouched
