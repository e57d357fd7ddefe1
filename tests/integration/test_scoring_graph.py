"""End to end on real PostgreSQL: dbt features -> Dagster scoring -> alerts -> distributions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from crm_scoring.app import operations
from crm_scoring.settings import Settings
from tests.integration import dataset

pytestmark = pytest.mark.integration


def _score(
    instance: dg.DagsterInstance,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tenants: list[str] | None = None,
) -> list[operations.RunOutcome]:
    registered = operations.sync_tenants(instance, engine, settings)
    outcomes = operations.score_day(instance, dataset.DAY, registered, tenants, tmp_path / "run.log")
    assert all(outcome.success for outcome in outcomes), (tmp_path / "run.log").read_text()[-3000:]
    return outcomes


def _table(engine: Engine, settings: Settings, table: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.{table} order by 1, 2, 3"), connection
        )


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def scored(instance, scored_day_state):
    """dataset.SOURCES scored on a new instance (restored: see conftest's scored_day)."""
    return scored_day_state.restore()


def test_the_run_is_tagged_with_the_day_and_tenants_it_covers(scored, instance) -> None:
    [outcome] = scored
    tags = instance.get_run_by_id(outcome.run_id).tags
    assert tags["crm_scoring/days"] == "2026-03-15"
    assert tags["crm_scoring/tenants"] == "acme…globex"  # both registered tenants, in order
    assert tags["crm_scoring/trigger"] == "cli"


def test_scores_equal_the_specification(scored, engine, settings) -> None:
    scores = _table(engine, settings, "customer_scores")
    by_customer = {(row["tenant_id"], row["customer_id"]): row for _, row in scores.iterrows()}
    # MERGED (c4) and soft-deleted (c5) customers are not scored.
    assert set(by_customer) == set(dataset.EXPECTED)
    for key, expected in dataset.EXPECTED.items():
        actual = {column: int(by_customer[key][column]) for column in expected}
        assert actual == expected, key
    # Reasons in words, biggest churn contributions first (worked out in dataset.py).
    assert by_customer[("acme", "c2")]["top_reasons"] == (
        "no activity for 62 days; 3 failed payments in 90 days; no email opened for 61 days"
    )
    assert by_customer[("acme", "c3")]["top_reasons"] == "never active; never opened an email"
    assert by_customer[("globex", "g1")]["top_reasons"] == ""
    assert set(scores["as_of_date"]) == {dataset.DAY}
    assert all(pd.Timestamp(t) == pd.Timestamp(dataset.AS_OF) for t in scores["as_of"])


def test_one_run_covers_every_tenant_of_the_day(scored, instance) -> None:
    assert len(scored) == 1
    run = instance.get_run_by_id(scored[0].run_id)
    assert run.tags["dagster/asset_partition_range_start"] == f"{dataset.DAY}|acme"
    assert run.tags["dagster/asset_partition_range_end"] == f"{dataset.DAY}|globex"
    materialized = instance.get_materialized_partitions(dg.AssetKey("customer_scores"))
    assert materialized == {f"{dataset.DAY}|acme", f"{dataset.DAY}|globex"}


def test_alerts_and_distributions(scored, engine, settings) -> None:
    alerts = _table(engine, settings, "churn_alerts")
    assert {(r.tenant_id, r.customer_id): r.churn_risk_score for r in alerts.itertuples()} == (
        dataset.EXPECTED_ALERTS
    )
    engagement = _table(engine, settings, "engagement_distribution")
    for tenant, expected in dataset.EXPECTED_ENGAGEMENT.items():
        rows = engagement[engagement["tenant_id"] == tenant]
        assert dict(zip(rows["label"], rows["customer_count"], strict=True)) == expected
    overview = _table(engine, settings, "churn_risk_overview").set_index("tenant_id")
    for tenant, expected in dataset.EXPECTED_OVERVIEW.items():
        assert {k: int(v) for k, v in overview.loc[tenant, list(expected)].items()} == expected


def test_each_partition_carries_its_own_figures(scored, instance) -> None:
    def figures(asset: str, *names: str) -> dict[str, tuple]:
        return {
            tenant: tuple(dataset.partition_metadata(instance, asset, tenant)[name] for name in names)
            for tenant in ("acme", "globex")
        }

    # acme: c1, c2, c3, c6, c7, c8 scored (merged c4 and deleted c5 not); globex: g1
    assert figures("customer_scores", "customers_scored") == {"acme": (6,), "globex": (1,)}
    # acme's c2 (91) is the one alert: globex raised and opened none
    assert figures("churn_alerts", "alerts_raised", "threshold") == {"acme": (1, 80), "globex": (0, 80)}
    assert figures("churn_alert_episodes", "alerts_opened", "alerts_resolved") == {
        "acme": (1, 0),
        "globex": (0, 0),
    }
    assert figures("churn_risk_overview", "score_rows_read", "rows_written") == {
        "acme": (6, 1),
        "globex": (1, 1),
    }
    for asset in ("engagement_distribution", "churn_risk_overview"):
        for tenant in ("acme", "globex"):
            picture = dataset.partition_metadata(instance, asset, tenant)["distribution"]
            # the partition's own tenant, one chart (its title is inside the PNG: count images)
            assert picture.count("](data:image/png;base64,iVBORw0KGgo") == 1, (asset, tenant)


PARTITIONED_MARTS = [
    ("customer_features", "as_of_date, tenant_id, customer_id"),
    ("customer_behaviour_features", "as_of_date, tenant_id, customer_id"),
    ("customer_activity_type_counts", "as_of_date, tenant_id, customer_id, activity_type"),
    ("data_quality_issues", "as_of_date, tenant_id, source_table, rule"),
]


@pytest.mark.parametrize(("table", "row_key"), PARTITIONED_MARTS)
def test_each_partitioned_mart_has_a_unique_row_key(scored, engine, settings, table, row_key) -> None:
    with engine.connect() as connection:
        definition = connection.execute(
            text("select indexdef from pg_indexes where schemaname = :schema and tablename = :table"),
            {"schema": settings.analytics_schema, "table": table},
        ).scalar_one()
    assert definition.startswith(f"CREATE UNIQUE INDEX {table}_pk")
    assert definition.endswith(f"({row_key})")


def test_a_rerun_writes_rows_in_row_key_order(scored, instance, engine, settings, tmp_path) -> None:
    # In key order, a day's rows fill the unique index's pages one after another (at scale, a
    # random order costs each row a random page: macros/scope_replace.sql). A table's first
    # build is dbt's `create table as`, and a rerun writes only the rows it does not find: the
    # day's rows go first, so the rerun writes them all, as on a new day.
    with engine.begin() as connection:
        for table, _ in PARTITIONED_MARTS[:3]:
            connection.execute(text(f"delete from {settings.analytics_schema}.{table}"))
    _score(instance, engine, settings, tmp_path)
    # data_quality_issues holds one row of this day: nothing to order.
    for table, row_key in PARTITIONED_MARTS[:3]:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f"select {row_key} from {settings.analytics_schema}.{table} order by ctid")
            ).all()
        days: dict[object, list[tuple]] = {}
        for row in rows:  # the rerun wrote each day's tenants in one statement
            days.setdefault(row[0], []).append(tuple(row))
        assert max(len(keys) for keys in days.values()) > 2, table
        for keys in days.values():
            assert keys == sorted(keys), table


def _row_versions(engine: Engine, settings: Settings, table: str, row_key: str) -> dict[tuple, str]:
    """Each row's key, and the transaction that wrote the row (xmin): a rewrite changes it."""
    with engine.connect() as connection:
        written = text(f"select {row_key}, xmin::text from {settings.analytics_schema}.{table}")
        return {tuple(row[:-1]): row[-1] for row in connection.execute(written)}


def test_expected_input_rules_pass_the_check_with_their_counts(scored, instance) -> None:
    # dataset.SOURCES has customers without a lifetime value: information, not a warning.
    key = dg.AssetCheckKey(dg.AssetKey("customer_scores"), "input_rows_excluded_by_rule")
    execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = execution.event.dagster_event.event_specific_data
    assert evaluation.passed is True
    assert evaluation.metadata["customer_profiles scored as 0: null_lifetime_value"].value > 0
    assert evaluation.description.startswith("expected: ")


def test_rerun_replaces_rows_without_duplicates(scored, instance, engine, settings, tmp_path) -> None:
    tables = ["customer_scores", "churn_alerts", "engagement_distribution", "churn_risk_overview"]
    volatile = {"scored_at", "run_id", "raised_at"}
    before = {t: _table(engine, settings, t).drop(columns=volatile, errors="ignore") for t in tables}
    alert_ids = set(_table(engine, settings, "churn_alerts")["alert_id"])
    written = {table: _row_versions(engine, settings, table, row_key) for table, row_key in PARTITIONED_MARTS}
    _score(instance, engine, settings, tmp_path)
    for table in tables:
        after = _table(engine, settings, table).drop(columns=volatile, errors="ignore")
        pd.testing.assert_frame_equal(after, before[table], obj=table)
    # dbt's rows of the day are the same rows, not even rewritten (macros/scope_replace.sql).
    for table, row_key in PARTITIONED_MARTS:
        assert _row_versions(engine, settings, table, row_key) == written[table], table
    assert set(_table(engine, settings, "churn_alerts")["alert_id"]) == alert_ids
    with engine.connect() as connection:
        features = connection.execute(
            text(
                f"select count(*) from {settings.analytics_schema}.customer_features where as_of_date = :day"
            ),
            {"day": dataset.DAY},
        ).scalar_one()
    assert features == len(dataset.EXPECTED)


def test_events_after_as_of_change_nothing(scored, instance, engine, settings, tmp_path) -> None:
    before = _table(engine, settings, "customer_scores").drop(columns=["scored_at", "run_id"])
    later = datetime(2026, 3, 16, 0, 0, 0, tzinfo=UTC)  # exactly as_of: outside [.., as_of)
    schema = settings.source_schema
    with engine.begin() as connection:
        for i, customer in enumerate(["c1", "c2", "c3", "c6", "c7", "c8"]):
            connection.execute(
                text(f"insert into {schema}.activities values (:id, 'acme', :c, 'PAYMENT_FAILED', :t, null)"),
                {"id": f"late-{i}", "c": customer, "t": later},
            )
            connection.execute(
                text(f"insert into {schema}.customer_notes values (:id, 'acme', :c, 'COMPLAINT', :t, '')"),
                {"id": f"late-{i}", "c": customer, "t": later},
            )
            connection.execute(
                text(f"insert into {schema}.campaign_interactions values (:id, 'acme', :c, 'x', 'SENT', :t)"),
                {"id": f"late-{i}", "c": customer, "t": later},
            )
    _score(instance, engine, settings, tmp_path)
    after = _table(engine, settings, "customer_scores").drop(columns=["scored_at", "run_id"])
    pd.testing.assert_frame_equal(after, before)


def test_single_tenant_rerun_leaves_other_tenants_alone(scored, instance, engine, settings, tmp_path):
    globex_before = _table(engine, settings, "customer_scores").query("tenant_id == 'globex'")
    outcomes = _score(instance, engine, settings, tmp_path, tenants=["acme"])
    assert [(o.first_tenant, o.last_tenant) for o in outcomes] == [("acme", "acme")]
    scores = _table(engine, settings, "customer_scores")
    pd.testing.assert_frame_equal(scores.query("tenant_id == 'globex'"), globex_before)
    acme_runs = set(scores.query("tenant_id == 'acme'")["run_id"])
    assert acme_runs == {outcomes[0].run_id}


def test_unknown_tenant_is_a_clear_error(scored, instance, engine, settings, tmp_path) -> None:
    registered = operations.sync_tenants(instance, engine, settings)
    with pytest.raises(operations.UsageError, match=r"Unknown tenant.*initech"):
        operations.score_day(instance, dataset.DAY, registered, ["initech"], tmp_path / "x.log")
