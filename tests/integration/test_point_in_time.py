"""Point in time, on real PostgreSQL, dbt and Dagster: a (day, tenant) partition is the CRM as of
that day, from the profile history (dbt snapshot) or, before the history, by the documented
reconstruction rules; a rerun after the CRM changed writes the same rows.

dataset.DAY = 2026-03-15 is scored as of AS_OF = 2026-03-16 00:00 UTC. Expected scores of the
customers added here are worked out in the comments, from the specification.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from tests.integration import dataset
from tests.integration.dataset import AS_OF, PROFILES_SINCE, activity, profile

pytestmark = pytest.mark.integration

RESULT_TABLES = {
    "customer_features": ["customer_id"],
    "customer_scores": ["customer_id"],
    "engagement_distribution": ["label"],
    "churn_risk_overview": [],
    "churn_alerts": ["customer_id"],
}
# What a rerun may change: who ran it and when.
RUN_COLUMNS = ["run_id", "scored_at", "raised_at"]


def later(days: float) -> object:
    return AS_OF + timedelta(days=days)


def _score(instance, engine, settings, day: date, log) -> None:
    registered = operations.sync_tenants(instance, engine, settings)
    outcomes = operations.score_day(instance, day, registered, None, log)
    assert all(outcome.success for outcome in outcomes), log.read_text()[-3000:]


def _partition(engine, settings, table: str, day: date) -> pd.DataFrame:
    order = ", ".join(["tenant_id", *RESULT_TABLES[table]])
    with engine.connect() as connection:
        rows = pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.{table} where as_of_date = :d order by {order}"),
            connection,
            params={"d": day},
        )
    return rows.drop(columns=[c for c in RUN_COLUMNS if c in rows.columns]).reset_index(drop=True)


def _scores(engine, settings, day: date) -> dict[str, pd.Series]:
    rows = _partition(engine, settings, "customer_scores", day)
    return {row.customer_id: row for _, row in rows.iterrows()}


def test_rerun_after_the_crm_changed_writes_the_same_rows(
    scored_day, instance, engine, settings, tmp_path
) -> None:
    first = {table: _partition(engine, settings, table, dataset.DAY) for table in RESULT_TABLES}
    assert len(first["customer_scores"]) == len(dataset.EXPECTED)

    profiles = f"{settings.source_schema}.customer_profiles"
    now = later(200)
    with engine.begin() as connection:
        # New customers (one with activity before DAY), a status change, a soft delete, a merge,
        # a lifetime value and opt-ins that moved on, and a profile deleted outright.
        connection.execute(
            text(
                f"insert into {profiles} (id, tenant_id, status, lifetime_value, created_at, updated_at) "
                "values ('new1', 'acme', 'ACTIVE', 999999, :now, :now), "
                "       ('new2', 'globex', 'ACTIVE', null, :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                f"insert into {settings.source_schema}.activities "
                "(id, tenant_id, customer_id, type, occurred_at) "
                "values ('late-a1', 'acme', 'new1', 'LOGIN', :before)"
            ),
            {"before": AS_OF - timedelta(days=2)},
        )
        for statement in (
            "update {p} set status = 'INACTIVE', updated_at = :now where id = 'c1'",
            "update {p} set deleted_at = :now, updated_at = :now where id = 'c2'",
            "update {p} set status = 'MERGED', updated_at = :now where id = 'c7'",
            "update {p} set lifetime_value = 10, email_opt_in = false, push_opt_in = false, "
            "last_email_open_at = :now, updated_at = :now where id = 'c6'",
            "delete from {p} where id = 'c8'",
        ):
            connection.execute(text(statement.format(p=profiles)), {"now": now})

    _score(instance, engine, settings, dataset.DAY, tmp_path / "rerun.log")
    for table, rows in first.items():
        pd.testing.assert_frame_equal(_partition(engine, settings, table, dataset.DAY), rows, obj=table)

    # The history holds both states of every changed profile; the day read the earlier one.
    with engine.connect() as connection:
        versions = dict(
            connection.execute(
                text(
                    f"select customer_id, count(*) from {settings.analytics_schema}.profile_history "
                    "group by customer_id"
                )
            ).all()
        )
    assert {customer: versions[customer] for customer in ("c1", "c2", "c6", "c7", "c3")} == {
        "c1": 2, "c2": 2, "c6": 2, "c7": 2, "c3": 1
    }  # fmt: skip
    assert versions["new1"] == 1 and "new2" in versions


def _features_by_writer(engine, settings, table: str, key: str) -> dict[tuple, tuple[str, dict]]:
    """DAY's rows of a dbt mart by key: the transaction that wrote each (xmin), and the row."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"select xmin::text as written_by, * from {settings.analytics_schema}.{table} "
                "where as_of_date = :d"
            ),
            {"d": dataset.DAY},
        ).mappings()
        return {tuple(row[c] for c in key.split(", ")): (row["written_by"], dict(row)) for row in rows}


def test_a_late_event_rewrites_only_its_customers_rows(
    scored_day, instance, engine, settings, tmp_path
) -> None:
    """A page view of c6 dated inside DAY's windows, loaded after DAY was scored: the rerun
    counts it (so the day as of then is what the CRM now says it was), and rewrites c6's rows
    alone. c6 had two page views, 1 and 3 days before as_of; the late one is 2 days before."""
    marts = {
        "customer_features": "tenant_id, customer_id",
        "customer_behaviour_features": "tenant_id, customer_id",
        "customer_activity_type_counts": "tenant_id, customer_id, activity_type",
    }
    before = {table: _features_by_writer(engine, settings, table, key) for table, key in marts.items()}
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {settings.source_schema}.activities "
                "(id, tenant_id, customer_id, type, occurred_at) "
                "values ('late-c6', 'acme', 'c6', 'PAGE_VIEW', :at)"
            ),
            {"at": later(-2)},
        )
    _score(instance, engine, settings, dataset.DAY, tmp_path / "rerun.log")
    after = {table: _features_by_writer(engine, settings, table, key) for table, key in marts.items()}

    # Counts in 7, 30 and 90 days 2 -> 3; active days 2 -> 3 (days 1, 2 and 3 before as_of).
    counts = {"activity_count_7d": 3, "activity_count_30d": 3, "activity_count_90d": 3}
    active_days = {"active_days_30d": 3, "active_days_90d": 3}
    changed = {
        ("customer_features", ("acme", "c6")): counts | active_days,
        ("customer_behaviour_features", ("acme", "c6")): counts | active_days,
        ("customer_activity_type_counts", ("acme", "c6", "PAGE_VIEW")): {
            "count_7d": 3, "count_30d": 3, "count_90d": 3
        },
    }  # fmt: skip
    for table in marts:
        assert after[table].keys() == before[table].keys(), table
        for key, (written_by, row) in after[table].items():
            if (table, key) in changed:
                assert written_by != before[table][key][0], (table, key)
                expected = changed[table, key]
                assert {column: row[column] for column in expected} == expected, (table, key)
                assert {column: before[table][key][1][column] for column in expected} == {
                    column: value - 1 for column, value in expected.items()
                }, (table, key)
            else:
                assert (written_by, row) == before[table][key], (table, key)


# Profiles loaded today whose rows changed after DAY: the history starts after DAY, so their state
# of DAY is reconstructed. Each has no event at all, so recency 0, frequency 0, depth 50 (no
# campaign): engagement = round(0.20 monetary + 0.15 breadth + 5); churn: never active 100 * 0.35,
# email opens as below, nothing else.
RECONSTRUCTED = [
    # INACTIVE now, since 10 days after DAY: ACTIVE on DAY. Lifetime value 60000 -> 80 (today's
    # value: flagged as reconstructed); email opt-in -> 25; its last open is after as_of, so
    # unknown on DAY -> never opened -> 50. engagement round(16 + 3.75 + 5) = 25;
    # churn 35 + 50 * 0.20 = 45.
    profile(
        "r1",
        "acme",
        status="INACTIVE",
        lifetime_value=60000,
        email_opt_in=True,
        last_email_open_at=later(5),
        updated_at=later(10),
    ),
    # Soft-deleted 3 days after DAY: it existed on DAY, ACTIVE. engagement 5, churn 45.
    profile("r2", "acme", deleted_at=later(3), updated_at=later(3)),
    # Deleted the day before DAY (row touched later): not a customer on DAY.
    profile("r3", "acme", deleted_at=later(-1), updated_at=later(3)),
    # MERGED now: stays out (a merged profile is a duplicate).
    profile("r4", "acme", status="MERGED", updated_at=later(3)),
    # Created the day after DAY, with activity before DAY: not a customer on DAY.
    profile("r5", "acme", created_at=later(1), updated_at=later(1)),
    # Created at exactly as_of: not a customer on DAY either (as_of is excluded, as for events).
    profile("r6", "acme", created_at=AS_OF, updated_at=AS_OF),
    # INACTIVE since before DAY (updated_at before as_of): INACTIVE on DAY, from the CRM's row.
    profile("r7", "acme", status="INACTIVE", updated_at=later(-5)),
]


def test_a_backfilled_day_reads_the_profiles_of_that_day(
    instance, engine, settings, load_sources, tmp_path
) -> None:
    sources = {
        **dataset.SOURCES,
        "customer_profiles": [*dataset.PROFILES, *RECONSTRUCTED],
        "activities": [*dataset.ACTIVITIES, activity("r5", "LOGIN", later(-2))],
    }
    load_sources(sources)
    _score(instance, engine, settings, dataset.DAY, tmp_path / "run.log")
    scores = _scores(engine, settings, dataset.DAY)

    assert set(scores) == {customer for _, customer in dataset.EXPECTED} | {"r1", "r2", "r7"}
    expected = {"r1": ("ACTIVE", 25, 45), "r2": ("ACTIVE", 5, 45), "r7": ("INACTIVE", 5, 45)}
    for customer, (status, engagement, churn) in expected.items():
        row = scores[customer]
        assert (row.status, row.engagement_score, row.churn_risk_score) == (status, engagement, churn)
    assert scores["r1"].monetary_score == 80 and scores["r1"].engagement_drop_risk == 50
    # Profiles unchanged since before DAY were first captured today: "current"; r1, r2 rebuilt.
    sources_by_customer = {customer: row.profile_state_source for customer, row in scores.items()}
    assert {c: s for c, s in sources_by_customer.items() if s != "current"} == {
        "r1": "reconstructed", "r2": "reconstructed"
    }  # fmt: skip

    # Distributions count ACTIVE customers as of DAY: dataset's acme plus r1 and r2 (engagement
    # 25 and 5: Low; churn 45: medium); r7 is INACTIVE, r3-r6 are no customers of DAY.
    engagement = _partition(engine, settings, "engagement_distribution", dataset.DAY)
    acme = engagement[engagement["tenant_id"] == "acme"].set_index("label")["customer_count"].to_dict()
    assert acme == {**dataset.EXPECTED_ENGAGEMENT["acme"], "Low (1-39)": 2 + 2}
    overview = _partition(engine, settings, "churn_risk_overview", dataset.DAY).set_index("tenant_id")
    assert overview.loc["acme", ["critical", "high", "medium", "low", "total"]].to_dict() == {
        **dataset.EXPECTED_OVERVIEW["acme"], "medium": 1 + 2, "total": 5 + 2
    }  # fmt: skip

    # The BI view says where each row's profile state came from.
    if not operations.views_exist(engine, settings):
        assert operations.publish_views(instance, tmp_path / "publish.log")[1]
    with engine.connect() as connection:
        exposed = dict(
            connection.execute(
                text(
                    f"select customer_id, profile_state_source from {settings.bi_schema}.customer_scores "
                    "where as_of_date = :d and customer_id in ('r1', 'c1')"
                ),
                {"d": dataset.DAY},
            ).all()
        )
    assert exposed == {"r1": "reconstructed", "c1": "current"}


def test_later_days_read_the_versions_the_history_captured(
    scored_day, instance, engine, settings, tmp_path
) -> None:
    """A profile changed between two days: each day reads the version in force at its end, in
    whatever order the days are scored; labelled "history" once the history was capturing
    before the day ended (simulated by dating the captures back: tests run months later)."""
    with engine.begin() as connection:
        connection.execute(
            text(f"update {settings.analytics_schema}.profile_history set captured_at = :since"),
            {"since": PROFILES_SINCE},
        )
        connection.execute(
            text(
                f"update {settings.source_schema}.customer_profiles set status = 'INACTIVE', "
                "updated_at = :at where id = 'c6'"
            ),
            {"at": later(1.5)},  # in the middle of the second day after DAY
        )
    next_day, day_after = dataset.DAY + timedelta(days=1), dataset.DAY + timedelta(days=2)
    _score(instance, engine, settings, day_after, tmp_path / "run.log")
    _score(instance, engine, settings, next_day, tmp_path / "run.log")
    read = {
        day: _scores(engine, settings, day)["c6"][["status", "profile_state_source"]].tolist()
        for day in (next_day, day_after)
    }
    assert read == {next_day: ["ACTIVE", "history"], day_after: ["INACTIVE", "history"]}


def test_a_backfill_scores_days_in_few_runs_and_resumes_where_it_stopped(
    instance, engine, settings, load_sources, tmp_path
) -> None:
    load_sources(dataset.SOURCES)
    registered = operations.sync_tenants(instance, engine, settings)
    days = [dataset.DAY - timedelta(days=offset) for offset in (2, 1, 0)]
    pending = operations.pending_partitions(instance, days, registered, force=False)
    assert pending == dict.fromkeys(days, registered)  # the instance is new: nothing done yet
    runs = operations.backfill_runs(pending, registered, days_per_run=2)
    assert [(run.first_day, run.last_day) for run in runs] == [(days[0], days[1]), (days[2], days[2])]
    for run in runs:
        assert operations.execute_scoring_run(instance, run.tags(), tmp_path / "run.log")[1]

    # A multi-day run scores each day as a run of that day alone would (dataset.py's figures).
    scores = _partition(engine, settings, "customer_scores", dataset.DAY)
    assert dict(zip(scores["customer_id"], scores["churn_risk_score"], strict=True)) == {
        customer: expected["churn_risk_score"] for (_, customer), expected in dataset.EXPECTED.items()
    }
    for day in days[:2]:
        assert len(_partition(engine, settings, "customer_scores", day)) == len(dataset.EXPECTED)

    # Resuming: every partition is materialized, so nothing is left to run...
    again = operations.pending_partitions(instance, days, registered, force=False)
    assert again == {day: [] for day in days}
    assert operations.backfill_runs(again, registered, days_per_run=2) == []
    # ...except the day before them, and --force takes everything again.
    wider = [days[0] - timedelta(days=1), *days]
    resumed = operations.backfill_runs(
        operations.pending_partitions(instance, wider, registered, force=False), registered, 31
    )
    assert [(run.first_day, run.last_day) for run in resumed] == [(wider[0], wider[0])]
    forced = operations.pending_partitions(instance, days, registered, force=True)
    assert forced == dict.fromkeys(days, registered)
