"""BI readers over real connections: own tenant's rows only, nothing without a tenant, no writes."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from crm_scoring.app import operations
from crm_scoring.warehouse.access import READER_ROLE, grant_middle_tier, grant_reader, reader_ddl
from crm_scoring.warehouse.schema import apply_ddl
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def readers(instance, engine, settings, scored_day_state, database_url, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("readers")
    scored_day_state.restore()
    assert operations.publish_views(instance, tmp_path / "publish.log")[1]
    roles = {
        tenant: grant_reader(engine, settings.analytics_schema, tenant, "pw-" + tenant)
        for tenant in ("acme", "globex")
    }
    apply_ddl(engine, reader_ddl(settings.analytics_schema))  # idempotent: a second time is harmless
    # dbt replaces the views on every publish: the readers' grant must carry over to the new ones
    assert operations.publish_views(instance, tmp_path / "publish.log")[1]
    with engine.begin() as connection:  # a reader login with no tenant of its own
        connection.execute(
            text(
                "do $$ begin if not exists (select from pg_roles where rolname = 'crm_reader_no_tenant') "
                "then create role crm_reader_no_tenant login password 'x'; end if; end $$"
            )
        )
        connection.execute(text(f"grant {READER_ROLE} to crm_reader_no_tenant"))

    def connect(role: str, password: str):
        url = make_url(database_url).set(username=role, password=password)
        return create_engine(url).connect()

    return roles, connect


def _count(connection, relation: str) -> int:
    return connection.execute(text(f"select count(*) from {relation}")).scalar_one()


def test_a_tenant_role_sees_exactly_its_rows(readers, settings) -> None:
    roles, connect = readers
    out = settings.bi_schema
    with connect(roles["acme"], "pw-acme") as acme:
        assert _count(acme, f"{out}.customer_scores") == 6  # c1 c2 c3 c6 c7 c8
        assert set(acme.execute(text(f"select distinct tenant_id from {out}.customer_scores")).scalars()) == {
            "acme"
        }
        assert _count(acme, f"{out}.customer_scores_latest") == 6
        assert _count(acme, f"{out}.churn_alerts") == 1
        overview = acme.execute(
            text(f"select critical, high, medium, low, total from {out}.churn_risk_overview")
        )
        assert [tuple(row) for row in overview] == [tuple(dataset.EXPECTED_OVERVIEW["acme"].values())]
        # SET cannot widen a tenant role's view
        acme.execute(text("set app.tenant_id = 'globex'"))
        assert set(acme.execute(text(f"select distinct tenant_id from {out}.customer_scores")).scalars()) == {
            "acme"
        }
    with connect(roles["globex"], "pw-globex") as globex:
        assert _count(globex, f"{out}.customer_scores") == 1


def test_a_tenant_role_sees_only_its_churn_predictions(readers, engine, settings) -> None:
    """Predictions need a trained model (test_churn_predictions.py): two rows per tenant written
    as the owner stand for them here, and are removed again."""
    roles, connect = readers
    table = f"{settings.analytics_schema}.churn_predictions"
    rows = [
        {"tenant": tenant, "customer": customer, "rank": rank}
        for tenant, customers in (("acme", ("c1", "c2")), ("globex", ("g1", "g2")))
        for rank, customer in enumerate(customers, start=1)
    ]
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {table} values ('2026-03-15', :tenant, :customer, 0.5, :rank, 'm', "
                "null, null, null, now(), 'test')"
            ),
            rows,
        )
    try:
        for tenant, expected in (("acme", ["c1", "c2"]), ("globex", ["g1", "g2"])):
            with connect(roles[tenant], "pw-" + tenant) as reader:
                reader.execute(text("set app.tenant_id = 'acme'"))  # cannot widen a tenant role's view
                seen = reader.execute(
                    text(f"select tenant_id, customer_id from {settings.bi_schema}.churn_predictions")
                )
                assert sorted(tuple(row) for row in seen) == [(tenant, c) for c in expected]
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"delete from {table} where run_id = 'test'"))


def test_no_tenant_means_no_rows_even_after_set(readers, settings) -> None:
    _, connect = readers
    out = settings.bi_schema
    with connect("crm_reader_no_tenant", "x") as anonymous:
        assert _count(anonymous, f"{out}.customer_scores") == 0
        assert _count(anonymous, f"{out}.engagement_distribution") == 0
        # app.tenant_id is only for the middle tier: a plain reader cannot pick a tenant with it
        anonymous.execute(text("set app.tenant_id = 'globex'"))
        assert _count(anonymous, f"{out}.customer_scores") == 0


def test_set_tenant_scopes_a_granted_middle_tier(readers, engine, settings) -> None:
    _, connect = readers
    out = settings.bi_schema
    with engine.begin() as connection:
        connection.execute(
            text(
                "do $$ begin if not exists (select from pg_roles where rolname = 'crm_test_middle_tier') "
                "then create role crm_test_middle_tier login password 'mt'; end if; end $$"
            )
        )
    grant_middle_tier(engine, settings.analytics_schema, "crm_test_middle_tier")
    with connect("crm_test_middle_tier", "mt") as middle_tier:
        assert _count(middle_tier, f"{out}.customer_scores") == 0  # unset: no tenant, no rows
        middle_tier.execute(text("set app.tenant_id = 'globex'"))
        assert _count(middle_tier, f"{out}.customer_scores") == 1
        middle_tier.execute(text("set app.tenant_id = 'acme'"))
        assert _count(middle_tier, f"{out}.customer_scores") == 6


BI_VIEWS = (
    "customer_scores",
    "customer_scores_latest",
    "churn_alerts",
    "engagement_distribution",
    "churn_risk_overview",
    "customer_score_trends",
    "tenant_daily_averages",
    "churn_predictions",
    "churn_model_backtest",
)


def test_a_tenant_login_without_its_mapping_fails_closed(readers, engine, settings) -> None:
    """The login outlives its mapping row (deleted, or the same login on another database of the
    server): it must see nothing, not fall back to a tenant it SETs itself."""
    roles, connect = readers
    with engine.begin() as connection:
        connection.execute(
            text(f"delete from {settings.analytics_schema}.reader_tenants where role_name = :role"),
            {"role": roles["acme"]},
        )
    with connect(roles["acme"], "pw-acme") as orphan:
        orphan.execute(text("set app.tenant_id = 'globex'"))
        for view in BI_VIEWS:
            assert _count(orphan, f"{settings.bi_schema}.{view}") == 0, view
        orphan.execute(text("set app.tenant_id = 'acme'"))
        assert _count(orphan, f"{settings.bi_schema}.customer_scores") == 0


REFUSED = [
    "insert into {bi}.churn_alerts values ('x', '2026-03-15', 'acme', 'c9', 99, 1, now())",
    "update {bi}.customer_scores set churn_risk_score = 0",
    "delete from {bi}.customer_scores",
    "select * from {src}.customer_profiles",
    # the tables beneath the views: readable only through them
    "select * from {out}.customer_scores",
    "select * from {out}.churn_risk_overview",
    "select * from {out}.customer_features",
    "select * from {out}.reader_tenants",
    "select * from {out}.api_tokens",
]


def test_writes_and_other_relations_are_refused(readers, settings) -> None:
    roles, connect = readers
    names = {"bi": settings.bi_schema, "out": settings.analytics_schema, "src": settings.source_schema}
    for statement in REFUSED:
        with (
            connect(roles["acme"], "pw-acme") as acme,
            pytest.raises(ProgrammingError, match="permission denied"),
        ):
            acme.execute(text(statement.format(**names)))


def test_granting_again_takes_no_ddl(readers, engine, settings) -> None:
    # The grants and policies are in place: another tenant's login must not re-create them
    # (their ALTER TABLE and CREATE POLICY would lock every analytics table against BI readers).
    def policies() -> list:
        with engine.connect() as connection:
            return connection.execute(text("select oid, polname from pg_policy order by oid")).all()

    before = policies()
    assert before  # tenant_isolation and middle_tier_tenant on each table
    grant_reader(engine, settings.analytics_schema, "acme", "pw-acme")
    assert policies() == before
