"""Bad input on real PostgreSQL: every excluded or specially-read row is counted per
(day, tenant, rule), surfaced in the materialization metadata, and nothing crashes."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from tests.integration import dataset
from tests.integration.dataset import activity, ago, interaction, note, profile

pytestmark = pytest.mark.integration

ON_THE_DAY = ago(0.5)  # within [as_of - 1 day, as_of)

BAD_ROWS = {
    "customer_profiles": [
        profile("c9", "acme", lifetime_value=-500, last_email_open_at=ago(-1)),
        profile("odd-1", "acme|evil", lifetime_value=50000),  # scored under a derived key
        profile("odd-2", "x'); drop table crm_test.activities; --", lifetime_value=1),
        profile("blank-1", "   "),  # no tenant at all: refused
    ],
    "activities": [
        activity("ghost", "LOGIN", ON_THE_DAY, tenant="acme"),  # unknown customer
        activity("c1", "LOGIN", ago(40.5), tenant="globex"),  # tenant mismatch, not on the day
        activity("c7", "LOGIN", ON_THE_DAY, tenant="globex"),  # tenant mismatch on the day
        activity("c1", "LOGIN", None),  # null timestamp
        activity("c6", "payment_failed", ON_THE_DAY),  # case mismatch: a plain activity
        activity("c6", None, ON_THE_DAY),  # no type: a plain activity
        activity("c6", "TIER_CHANGED", ON_THE_DAY, metadata={"other": 1}),
        activity("c6", "TIER_CHANGED", ago(0.6), metadata=[1, 2]),
        activity("c6", "TIER_CHANGED", ago(0.7), metadata={"reason": 5}),
    ],
    "campaign_interactions": [
        interaction("c6", "BOUNCED", ON_THE_DAY),
        interaction("ghost", "SENT", ON_THE_DAY),
    ],
    "customer_notes": [
        note("c6", None, ON_THE_DAY),
        note("ghost", "COMPLAINT", None),
        note("nobody-3", "COMPLAINT", None, tenant=None),  # undated, and no tenant at all
    ],
}
# Unknown customers whose events name no tenant any profile has: null, or one the CRM has no
# customer of. Appended so the rows above keep their ids.
BAD_ROWS["activities"].append(activity("nobody-1", "LOGIN", ON_THE_DAY, tenant=None))
BAD_ROWS["campaign_interactions"].append(interaction("nobody-2", "SENT", ON_THE_DAY, tenant="initech"))


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def scored_with_bad_rows(instance, engine, settings, load_sources, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bad_rows")
    sources = {table: rows + BAD_ROWS.get(table, []) for table, rows in dataset.SOURCES.items()}
    load_sources(sources)
    registered = operations.sync_tenants(instance, engine, settings)
    assert len(registered) == 4 and "acme|evil" not in registered  # acme, globex, 2 derived keys
    [outcome] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert outcome.success
    return registered


def _issues(engine, settings) -> dict[tuple[str, str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"select tenant_id, source_table, rule, affected_rows from "
                f"{settings.analytics_schema}.data_quality_issues where as_of_date = :day"
            ),
            {"day": dataset.DAY},
        ).all()
    return {(r.tenant_id, r.source_table, r.rule): r.affected_rows for r in rows}


def test_every_rule_is_counted_per_tenant(scored_with_bad_rows, engine, settings) -> None:
    assert _issues(engine, settings) == {
        ("acme", "activities", "unknown_customer"): 1,
        ("acme", "activities", "tenant_mismatch"): 1,  # c7's; c1's is not on the day
        ("acme", "activities", "null_timestamp"): 1,
        ("acme", "activities", "unrecognised_activity_type"): 2,
        ("acme", "activities", "tier_change_without_reason"): 3,
        ("acme", "campaign_interactions", "unknown_interaction_type"): 1,
        ("acme", "campaign_interactions", "unknown_customer"): 1,
        ("acme", "customer_notes", "unknown_note_type"): 1,
        # a note of an unknown customer with no time: counted under the tenant it claims
        ("acme", "customer_notes", "unknown_customer"): 1,
        ("acme", "customer_notes", "null_timestamp"): 1,
        # c2, c6, c8 have no lifetime value; c9's is negative; c9 opened "tomorrow"
        ("acme", "customer_profiles", "null_lifetime_value"): 3,
        ("acme", "customer_profiles", "negative_lifetime_value"): 1,
        ("acme", "customer_profiles", "last_email_open_after_as_of"): 1,
        # no scored tenant owns them: counted per day under the unknown-tenant bucket
        ("(unknown tenant)", "activities", "unknown_customer"): 1,  # nobody-1, tenant null
        ("(unknown tenant)", "campaign_interactions", "unknown_customer"): 1,  # nobody-2, initech
        ("(unknown tenant)", "customer_notes", "unknown_customer"): 1,  # nobody-3
        ("(unknown tenant)", "customer_notes", "null_timestamp"): 1,  # nobody-3
    }


def test_rules_are_applied_as_documented(scored_with_bad_rows, engine, settings) -> None:
    with engine.connect() as connection:
        scores = pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.customer_scores where as_of_date = :day"),
            connection,
            params={"day": dataset.DAY},
        ).set_index("customer_id")
    c6 = scores.loc["c6"]
    # 2 page views + lowercase payment_failed + untyped + 3 tier changes = 7 activities -> 60
    assert c6["frequency_score"] == 60
    assert c6["payment_risk"] == 0  # "payment_failed" is not PAYMENT_FAILED
    assert c6["tier_downgrade_risk"] == 0  # no string reason is no downgrade
    # c7's activity claiming globex still counts for c7 (acme): 2 activities in 30 days -> 40
    assert scores.loc["c7", "frequency_score"] == 40
    assert scores.loc["c7", "tenant_id"] == "acme"
    # c9: negative lifetime value is 0 points; an open after as_of is 0 risk
    assert scores.loc["c9", "monetary_score"] == 0
    assert scores.loc["c9", "engagement_drop_risk"] == 0
    # Awkward tenant ids are scored under derived partition keys, their rows keep the real id.
    assert scores.loc["odd-1", "tenant_id"] == "acme|evil"
    assert scores.loc["odd-1", "monetary_score"] == 80
    assert scores.loc["odd-2", "tenant_id"] == "x'); drop table crm_test.activities; --"
    assert "blank-1" not in scores.index
    with engine.connect() as connection:  # and the SQL-looking id was only ever data
        assert connection.execute(text(f"select count(*) from {settings.source_schema}.activities")).scalar()


def test_counts_surface_in_dagster_metadata_and_checks(scored_with_bad_rows, instance) -> None:
    metadata = dataset.partition_metadata(instance, "customer_scores", "acme")
    assert metadata["rule: activities ignored: unknown_customer"] == 1
    assert metadata["rule: customer_profiles scored as 0: null_lifetime_value"] == 3
    assert metadata["rule: activities ignored: unknown_customer (unknown tenant)"] == 1
    assert metadata["rule: customer_notes ignored: null_timestamp (unknown tenant)"] == 1
    assert metadata["rows_excluded_or_flagged"] == 22  # the sum of the rules above
    # globex's partition: none of acme's rules, only the day's unknown-tenant bucket (4 rows)
    globex = dataset.partition_metadata(instance, "customer_scores", "globex")
    assert globex["rows_excluded_or_flagged"] == 4
    assert "rule: activities ignored: unknown_customer" not in globex
    assert globex["rule: activities ignored: unknown_customer (unknown tenant)"] == 1
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("customer_scores"), "input_rows_excluded_by_rule")]
    )
    execution = check[dg.AssetCheckKey(dg.AssetKey("customer_scores"), "input_rows_excluded_by_rule")]
    evaluation = execution.event.dagster_event.event_specific_data
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    # the actionable rules named first; the expected ones (null lifetime values) still listed
    assert evaluation.description.startswith("needs action: ")
    assert "1 activities ignored: unknown_customer," in evaluation.description
    expected = evaluation.description.split("; expected: ")[1]
    assert "3 customer_profiles scored as 0: null_lifetime_value" in expected


def test_awkward_tenant_can_be_rerun_by_its_id(
    scored_with_bad_rows, instance, engine, settings, tmp_path
) -> None:
    [outcome] = operations.score_day(
        instance, dataset.DAY, scored_with_bad_rows, ["acme|evil"], tmp_path / "rerun.log"
    )
    assert outcome.success
    names = operations.tenant_names(engine, settings, scored_with_bad_rows)
    assert names[outcome.first_tenant] == "acme|evil"
    states = {
        names[s.tenant_id]: s.state
        for s in operations.day_status(instance, dataset.DAY, scored_with_bad_rows)
    }
    assert states["acme|evil"] == "materialized"


def test_a_rerun_of_one_tenant_recounts_the_unknown_tenant_bucket_once(
    scored_with_bad_rows, instance, engine, settings, tmp_path
) -> None:
    [outcome] = operations.score_day(
        instance, dataset.DAY, scored_with_bad_rows, ["globex"], tmp_path / "rerun.log"
    )
    assert outcome.success
    with engine.connect() as connection:
        rows, total = connection.execute(
            text(
                f"select count(*), sum(affected_rows) from {settings.analytics_schema}.data_quality_issues "
                "where as_of_date = :day and tenant_id = '(unknown tenant)'"
            ),
            {"day": dataset.DAY},
        ).one()
    assert (rows, total) == (4, 4)  # the four counts of the first run, replaced, not added


def test_a_tenant_with_zero_profiles_gets_zero_distributions(
    instance, engine, settings, load_sources, tmp_path
) -> None:
    load_sources(dataset.SOURCES)
    registered = operations.sync_tenants(instance, engine, settings)
    instance.add_dynamic_partitions("tenants", ["zz-empty"])
    [outcome] = operations.score_day(
        instance, dataset.DAY, [*registered, "zz-empty"], ["zz-empty"], tmp_path / "run.log"
    )
    assert outcome.success
    schema = settings.analytics_schema
    with engine.connect() as connection:
        overview = connection.execute(
            text(
                f"select critical, high, medium, low, total from {schema}.churn_risk_overview "
                "where tenant_id = 'zz-empty'"
            )
        ).one()
        buckets = connection.execute(
            text(
                f"select count(*), sum(customer_count) from {schema}.engagement_distribution "
                "where tenant_id = 'zz-empty'"
            )
        ).one()
    assert tuple(overview) == (0, 0, 0, 0, 0)
    assert tuple(buckets) == (4, 0)


# Tenant umbrella holds every non-finite value PostgreSQL accepts in the contract's columns.
NON_FINITE_ROWS = {
    "customer_profiles": [
        profile("u1", "umbrella", lifetime_value="NaN", email_opt_in=True, last_email_open_at="infinity"),
        profile("u2", "umbrella", lifetime_value=20000, last_email_open_at="-infinity"),
    ],
    "activities": [
        activity("u1", "LOGIN", ago(2), tenant="umbrella"),
        activity("u1", "LOGIN", "-infinity", tenant="umbrella"),
        activity("u1", "PAGE_VIEW", "infinity", tenant="umbrella"),
        activity("u2", "LOGIN", "-infinity", tenant="umbrella"),  # u2's only activity
    ],
    "campaign_interactions": [interaction("u2", "SENT", "-infinity", tenant="umbrella")],
    "customer_notes": [note("u2", "COMPLAINT", "infinity", tenant="umbrella")],
}


def test_non_finite_values_are_counted_and_scored_as_documented(
    instance, engine, settings, load_sources, tmp_path
) -> None:
    sources = {table: rows + NON_FINITE_ROWS.get(table, []) for table, rows in dataset.SOURCES.items()}
    load_sources(sources)
    registered = operations.sync_tenants(instance, engine, settings)
    [outcome] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert outcome.success

    umbrella = {key: count for key, count in _issues(engine, settings).items() if key[0] == "umbrella"}
    assert umbrella == {
        ("umbrella", "customer_profiles", "nan_lifetime_value"): 1,  # u1
        ("umbrella", "customer_profiles", "infinite_last_email_open"): 2,  # u1 +inf, u2 -inf
        ("umbrella", "activities", "infinite_timestamp"): 3,  # counted every day, like undated ones
        ("umbrella", "campaign_interactions", "infinite_timestamp"): 1,
        ("umbrella", "customer_notes", "infinite_timestamp"): 1,
    }
    with engine.connect() as connection:
        scores = pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.customer_scores where as_of_date = :day"),
            connection,
            params={"day": dataset.DAY},
        ).set_index("customer_id")
    # u1: last activity 2 days ago -> recency 100; 1 activity in 30 days -> 20; NaN lifetime
    # value is unknown (null) -> 0; 1 channel -> 25; no campaign -> depth 50.
    # engagement 30 + 5 + 0 + 3.75 + 5 = 43.75 -> 44.
    # churn: 1 recent activity, none older -> decline 0; no payments 0; an infinite last open is
    # no open (null) -> 50 -> 10; no downgrade, no complaint: 10.
    # u2: its only activity is at -infinity, ignored: never active -> recency 0, frequency 0;
    # lifetime value 20000 -> 60; no channel 0; the -infinity send is outside the window -> 50.
    # engagement 0 + 0 + 12 + 0 + 5 = 17. churn: never active -> 100 -> 35; -infinity last open
    # is no open -> 50 -> 10; the complaint dated +infinity is outside the window -> 0: 45.
    expected = {
        "u1": {
            "engagement_score": 44,
            "churn_risk_score": 10,
            "monetary_score": 0,
            "engagement_drop_risk": 50,
        },
        "u2": {"engagement_score": 17, "churn_risk_score": 45, "recency_score": 0, "complaint_risk": 0},
    }
    for customer, columns in expected.items():
        assert scores.loc[customer, list(columns)].to_dict() == columns, customer
    # The other tenants score exactly as without the non-finite rows.
    for (tenant, customer), columns in dataset.EXPECTED.items():
        assert scores.loc[customer, "tenant_id"] == tenant
        assert scores.loc[customer, list(columns)].to_dict() == columns, customer
    # The history keeps what the CRM holds; only the features read it under the rule.
    with engine.connect() as connection:
        raw = connection.execute(
            text(
                f"select lifetime_value::text from {settings.analytics_schema}.profile_history "
                "where customer_id = 'u1'"
            )
        ).scalar_one()
    assert raw == "NaN"
