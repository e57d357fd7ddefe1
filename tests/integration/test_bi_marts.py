"""The BI views: dbt models with enforced contracts over the Python assets' tables."""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.app.docs import build_docs
from crm_scoring.defs.dbt_project import dbt_project
from crm_scoring.defs.resources import dbt_environment
from crm_scoring.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR
from tests.integration import dataset

pytestmark = pytest.mark.integration

BI_MODELS = {
    "customer_scores",
    "customer_scores_latest",
    "engagement_distribution",
    "churn_risk_overview",
    "churn_alerts",
    "customer_score_trends",
    "tenant_daily_averages",
    "churn_backtest",
    "churn_backtest_calibration",
    "churn_predictions",
    "churn_model_backtest",
}


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def published(instance, scored_day_state, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("published")
    scored_day_state.restore()
    run_id, success = operations.publish_views(instance, tmp_path / "publish.log")
    assert success, (tmp_path / "publish.log").read_text()[-3000:]
    return run_id


def test_views_show_the_scores_distributions_and_alerts(published, instance, engine, settings) -> None:
    bi = settings.bi_schema
    with engine.connect() as connection:
        scores = {
            (row.tenant_id, row.customer_id): row
            for row in connection.execute(text(f"select * from {bi}.customer_scores"))
        }
        assert scores[("acme", "c1")].engagement_score == dataset.EXPECTED[("acme", "c1")]["engagement_score"]
        assert scores[("acme", "c1")].churn_risk_score == dataset.EXPECTED[("acme", "c1")]["churn_risk_score"]
        overview = {
            row.tenant_id: dict(row._mapping)
            for row in connection.execute(
                text(f"select tenant_id, critical, high, medium, low, total from {bi}.churn_risk_overview")
            )
        }
        for row in overview.values():
            del row["tenant_id"]
        assert overview == dataset.EXPECTED_OVERVIEW
        alerts = connection.execute(
            text(f"select tenant_id, customer_id, churn_risk_score from {bi}.churn_alerts")
        ).all()
        assert {(t, c): s for t, c, s in alerts} == dataset.EXPECTED_ALERTS
        engagement = connection.execute(
            text(f"select label, customer_count from {bi}.engagement_distribution where tenant_id = 'acme'")
        ).all()
        assert dict(engagement) == dataset.EXPECTED_ENGAGEMENT["acme"]
    # the lineage: each view's materialization is recorded against its bi/ asset key
    from dagster import AssetKey

    assert (
        instance.get_latest_materialization_event(AssetKey(["bi", "customer_scores_latest_view"])) is not None
    )


def test_latest_view_keeps_each_customers_newest_day(published, engine, settings) -> None:
    scores, bi = f"{settings.analytics_schema}.customer_scores", settings.bi_schema
    older = dataset.DAY - timedelta(days=3)
    with engine.begin() as connection:
        # An older day for every acme customer (engagement 1), and c9 scored only then.
        connection.execute(
            text(
                f"insert into {scores} select as_of_date - 3, tenant_id, customer_id, status, 1, "
                "churn_risk_score, recency_score, frequency_score, monetary_score, breadth_score, "
                "depth_score, activity_decline_risk, payment_risk, engagement_drop_risk, "
                "tier_downgrade_risk, complaint_risk, top_reasons, as_of, scored_at, run_id "
                f"from {scores} where tenant_id = 'acme'"
            )
        )
        connection.execute(
            text(
                f"insert into {scores} select as_of_date, tenant_id, 'c9', status, engagement_score, "
                "churn_risk_score, recency_score, frequency_score, monetary_score, breadth_score, "
                "depth_score, activity_decline_risk, payment_risk, engagement_drop_risk, "
                "tier_downgrade_risk, complaint_risk, top_reasons, as_of, scored_at, run_id "
                f"from {scores} where customer_id = 'c1' and as_of_date = :older"
            ),
            {"older": older},
        )
        latest = {
            row.customer_id: (row.as_of_date, row.engagement_score)
            for row in connection.execute(
                text(f"select * from {bi}.customer_scores_latest where tenant_id = 'acme'")
            )
        }
        history_rows = connection.execute(
            text(f"select count(*) from {bi}.customer_scores where tenant_id = 'acme'")
        ).scalar_one()
    assert latest.pop("c9") == (older, 1)
    assert latest["c1"] == (dataset.DAY, dataset.EXPECTED[("acme", "c1")]["engagement_score"])
    assert {day for day, _ in latest.values()} == {dataset.DAY}
    assert history_rows == 6 + 6 + 1  # the day, the older copies, c9


def test_every_view_column_is_contracted_and_documented(published, engine, settings) -> None:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "bi" in node["tags"]
    }
    assert set(models) == BI_MODELS
    with engine.connect() as connection:
        for name, node in models.items():
            assert node["contract"]["enforced"], name
            actual = connection.execute(
                text(
                    "select column_name from information_schema.columns "
                    "where table_schema = :schema and table_name = :name order by ordinal_position"
                ),
                {"schema": settings.bi_schema, "name": name},
            ).scalars()
            assert list(actual) == list(node["columns"]), name
            for column, spec in node["columns"].items():
                assert spec["data_type"], f"{name}.{column} has no data_type"
                assert len(spec["description"]) > 20, f"{name}.{column} is not documented"
    exposed = {
        dependency
        for exposure in manifest["exposures"].values()
        for dependency in exposure["depends_on"]["nodes"]
    }
    for name in ("customer_scores_latest", "churn_risk_overview", "churn_alerts"):
        assert f"model.crm_scoring.{name}" in exposed


def test_a_drifting_column_fails_the_build_and_keeps_the_published_view(
    published, engine, settings, database_url, tmp_path
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "bi" / "churn_risk_overview.sql"
    model.write_text(model.read_text().replace("critical::integer", "critical::text"))
    dbt = DbtCliResource(project_dir=os.fspath(project), dbt_executable=DBT_EXECUTABLE)
    with dbt_environment(database_url):
        invocation = dbt.cli(["build", "--select", "churn_risk_overview"], raise_on_error=False)
        output = "\n".join(str(event.raw_event["info"]["msg"]) for event in invocation.stream_raw_events())
    assert not invocation.is_successful()
    assert "contract" in output.lower() and "critical" in output
    with engine.connect() as connection:
        column_type = connection.execute(
            text(
                "select data_type from information_schema.columns where table_schema = :schema "
                "and table_name = 'churn_risk_overview' and column_name = 'critical'"
            ),
            {"schema": settings.bi_schema},
        ).scalar_one()
    assert column_type == "integer"


def test_docs_site_lists_the_views_with_their_database_columns(published, database_url, tmp_path) -> None:
    index = build_docs(database_url, tmp_path / "docs")
    assert index.exists()
    catalog = json.loads((Path(index).parent / "catalog.json").read_text())
    overview = catalog["nodes"]["model.crm_scoring.churn_risk_overview"]["columns"]
    assert {name: column["type"] for name, column in overview.items() if name == "critical"} == {
        "critical": "integer"
    }
