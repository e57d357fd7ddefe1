"""The learned churn model's behaviour features and per-type activity counts (issue 11), on real
PostgreSQL, dbt and Dagster: values worked out by hand, and nothing read at or after as_of.

DAY = 2026-03-15 is scored as of AS_OF = 2026-03-16 00:00 UTC; ago(n) is n days before AS_OF.
Windows are [AS_OF - N days, AS_OF): an event exactly N days back is in, one at AS_OF is out.
Every customer below also has events exactly at AS_OF and after it (LEAKS): were any of them
read, the figures worked out in the comments would be off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import partial

import pandas as pd
import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.scope import DayScope, days_with_observed_horizon
from crm_scoring.settings import ALL_ACTIVE_POPULATION, AT_RISK_POPULATION
from crm_scoring.warehouse.labels import churn_labels
from crm_scoring.warehouse.model_inputs import (
    feature_columns,
    prediction_frame,
    top_activity_types,
    training_frame,
    training_labels,
)
from tests.integration.dataset import AS_OF, DAY, activity, ago, interaction, note, profile

pytestmark = pytest.mark.integration

TOP_TYPES_ENV = "CRM_SCORING_MODEL_ACTIVITY_TYPES"
KEYS = ["as_of_date", "tenant_id", "customer_id", "as_of"]

PROFILES = [
    # Created 60 days before AS_OF (2026-01-15 -> 2026-03-16: 31 + 28 + 1 days).
    profile("b1", "acme", created_at=datetime(2026, 1, 15, tzinfo=AS_OF.tzinfo), updated_at=ago(60)),
    profile("b2", "acme"),
    profile("b3", "acme"),
    # Created 10.5 days before AS_OF, nothing since: tenure 10.5, every count 0.
    profile("b4", "acme", created_at=ago(10.5), updated_at=ago(10.5)),
    profile("b5", "acme"),
    # A duplicate: no customer of the day, so its purchases weigh nothing in acme's top types.
    profile("bm", "acme", status="MERGED"),
    profile("g1", "globex"),
    profile("g2", "globex"),
]


def _activities(customer: str, kind: str, days_ago: list[float], tenant: str = "acme", **kw) -> list[dict]:
    return [activity(customer, kind, ago(days), tenant=tenant, **kw) for days in days_ago]


ACTIVITIES = [
    # b1: LOGIN at 0.5, 3, 6.5, 7 (exactly the 7-day start: in), 10.25, 10.75 and 30 (exactly the
    # 30-day start: in) days: 7d 4, 30d 7. Day k is (AS_OF - (k+1) days, AS_OF - k days]: days
    # 0, 2, 6, 6, 10, 10, 29 -> 5 active days in 30. PAGE_VIEW at 45, 60.5 and 90 (the 90-day
    # start: in) days -> days 44, 60, 89; and at 90.5 days: out. 90d 10, 8 active days in 90.
    *_activities("b1", "LOGIN", [0.5, 3, 6.5, 7, 10.25, 10.75, 30]),
    *_activities("b1", "PAGE_VIEW", [45, 60.5, 90, 90.5]),
    # b2: payments and tier changes (activities too: 7d 1 (PR 5), 30d 3 (+ TC 10, PF 20),
    # 90d 8 (+ PR 35, TC 50, PF 60, TC 60, PR 65)).
    # Received at 5, 35, 65, 95 days (180d: 4, mean gap (95 - 5) / 3 = 30; last 5 days ago,
    # overdue 5 / 30) and at 200 days (in the year, not in the 180 days).
    *_activities("b2", "PAYMENT_RECEIVED", [5, 35, 65, 95, 200]),
    # Failed at 20 (30d), 60 (90d), 300 and 365 (the year's start: in) days: 1 / 2 / 4; 366: out.
    *_activities("b2", "PAYMENT_FAILED", [20, 60, 300, 365, 366]),
    # Downgrades at 10 and 170 days, an upgrade at 100 (181: out of the 180 days), another
    # reason at 50 and a metadata that is no object at 60 (neither): 2 downgrades, 1 upgrade.
    *_activities("b2", "TIER_CHANGED", [10, 170], metadata={"reason": "downgrade"}),
    *_activities("b2", "TIER_CHANGED", [100, 181], metadata={"reason": "upgrade"}),
    *_activities("b2", "TIER_CHANGED", [50], metadata={"reason": "plan_migration"}),
    *_activities("b2", "TIER_CHANGED", [60], metadata="downgrade"),
    # b5: one LOGIN 20 days ago, six page views 40-71 days ago: recent 1 per 30 days, prior
    # 6 / 2 = 3 per 30 days: decline (3 - 1) / (3 + 1) = 0.5; active days 1 and 7.
    *_activities("b5", "LOGIN", [20]),
    *_activities("b5", "PAGE_VIEW", [40, 41, 50, 51, 70, 71]),
    *_activities("bm", "PURCHASE", [1] * 20),
    # globex: SUPPORT_TICKET 3, LOGIN 2, EXPORT 1, WEBINAR 1 in 90 days.
    *_activities("g1", "SUPPORT_TICKET", [2, 3, 40], tenant="globex"),
    *_activities("g1", "LOGIN", [8], tenant="globex"),
    *_activities("g2", "LOGIN", [1], tenant="globex"),
    *_activities("g2", "EXPORT", [50], tenant="globex"),
    *_activities("g2", "WEBINAR", [6], tenant="globex"),
]

INTERACTIONS = [
    # b3: SENT at 1, 29, 30 (30d: 3), 31, 89 (prior 60 days: 2), 90.5 (out); OPENED at 2 (30d)
    # and 45 (prior); CLICKED at 60 (prior).
    *[interaction("b3", "SENT", ago(days)) for days in (1, 29, 30, 31, 89, 90.5)],
    *[interaction("b3", "OPENED", ago(days)) for days in (2, 45)],
    interaction("b3", "CLICKED", ago(60)),
]

NOTES = [
    # b3: COMPLAINT at 3, 30 (30d: 2), 31, 89 (90d: 4), 91 (out); GENERAL at 10 (notes 90d: 5)
    # and 95 (out).
    *[note("b3", "COMPLAINT", ago(days)) for days in (3, 30, 31, 89, 91)],
    *[note("b3", "GENERAL", ago(days)) for days in (10, 95)],
]

# Events at AS_OF and after it, of every kind a feature reads: none may count. Ten failed
# payments would also make PAYMENT_FAILED acme's most frequent type. b4's and b5's come only at
# the end of the labels' 60-day window and after it (see LABELS).
LATER = {
    customer: moments
    for customers, moments in ((("b1", "b2", "b3"), (AS_OF, ago(-0.5))), (("b4", "b5"), (ago(-60), ago(-61))))
    for customer in customers
}
LEAKS = {
    "activities": [
        *[
            activity(customer, kind, moment)
            for customer, moments in LATER.items()
            for kind in ("LOGIN", "PAYMENT_RECEIVED")
            for moment in moments
        ],
        *_activities("b2", "PAYMENT_FAILED", [0] * 5 + [-1] * 5),
        *_activities("b2", "TIER_CHANGED", [0, -3], metadata={"reason": "downgrade"}),
        *_activities("b3", "TIER_CHANGED", [0], metadata={"reason": "upgrade"}),
        *_activities("g2", "WEBINAR", [0, 0, -1], tenant="globex"),
    ],
    "campaign_interactions": [
        interaction(customer, kind, moment)
        for customer in ("b1", "b3")
        for kind in ("SENT", "OPENED", "CLICKED")
        for moment in (AS_OF, ago(-2))
    ],
    "customer_notes": [
        note(customer, kind, AS_OF) for customer in ("b1", "b3") for kind in ("COMPLAINT", "GENERAL")
    ],
}

SOURCES = {
    "customer_profiles": PROFILES,
    "activities": [*ACTIVITIES, *LEAKS["activities"]],
    "campaign_interactions": [*INTERACTIONS, *LEAKS["campaign_interactions"]],
    "customer_notes": [*NOTES, *LEAKS["customer_notes"]],
}

ZERO_COUNTS = {
    "activity_count_7d": 0, "activity_count_30d": 0, "activity_count_90d": 0,
    "active_days_30d": 0, "active_days_90d": 0, "activity_decline_ratio": 0.0,
    "payments_received_180d": 0, "payment_failed_30d": 0, "payment_failed_90d": 0,
    "payment_failed_365d": 0, "tier_downgrades_180d": 0, "tier_upgrades_180d": 0,
    "campaign_sent_30d": 0, "campaign_opened_30d": 0, "campaign_clicked_30d": 0,
    "campaign_sent_prior_60d": 0, "campaign_opened_prior_60d": 0, "campaign_clicked_prior_60d": 0,
    "complaints_30d": 0, "complaints_90d": 0, "notes_90d": 0,
}  # fmt: skip
NO_PAYMENTS = {"days_since_last_payment": None, "payment_mean_gap_days": None, "payment_overdue_ratio": None}
# 2025-06-01 (dataset.PROFILES_SINCE) -> 2026-03-16: 273 days to 2026-03-01, then 15.
OLD_TENURE = 288.0

EXPECTED = {
    "b1": {
        **ZERO_COUNTS, **NO_PAYMENTS,
        "activity_count_7d": 4, "activity_count_30d": 7, "activity_count_90d": 10,
        "active_days_30d": 5, "active_days_90d": 8,
        # recent 7, prior (10 - 7) / 2 = 1.5: (1.5 - 7) / (1.5 + 7)
        "activity_decline_ratio": -5.5 / 8.5,
        "days_since_last_activity": 0.5, "tenure_days": 60.0,
    },
    "b2": {
        **ZERO_COUNTS,
        "activity_count_7d": 1, "activity_count_30d": 3, "activity_count_90d": 8,
        "active_days_30d": 3, "active_days_90d": 7,
        # recent 3, prior (8 - 3) / 2 = 2.5: (2.5 - 3) / 5.5
        "activity_decline_ratio": -0.5 / 5.5,
        "days_since_last_activity": 5.0, "tenure_days": OLD_TENURE,
        "days_since_last_payment": 5.0, "payments_received_180d": 4, "payment_mean_gap_days": 30.0,
        "payment_overdue_ratio": 5.0 / 30.0,
        "payment_failed_30d": 1, "payment_failed_90d": 2, "payment_failed_365d": 4,
        "tier_downgrades_180d": 2, "tier_upgrades_180d": 1,
    },
    "b3": {
        **ZERO_COUNTS, **NO_PAYMENTS,
        "days_since_last_activity": None, "tenure_days": OLD_TENURE,
        "campaign_sent_30d": 3, "campaign_opened_30d": 1, "campaign_clicked_30d": 0,
        "campaign_sent_prior_60d": 2, "campaign_opened_prior_60d": 1, "campaign_clicked_prior_60d": 1,
        "complaints_30d": 2, "complaints_90d": 4, "notes_90d": 5,
    },
    "b4": {**ZERO_COUNTS, **NO_PAYMENTS, "days_since_last_activity": None, "tenure_days": 10.5},
    "b5": {
        **ZERO_COUNTS, **NO_PAYMENTS,
        "activity_count_7d": 0, "activity_count_30d": 1, "activity_count_90d": 7,
        "active_days_30d": 1, "active_days_90d": 7, "activity_decline_ratio": 0.5,
        "days_since_last_activity": 20.0, "tenure_days": OLD_TENURE,
    },
}  # fmt: skip

# (tenant, customer, type): (7d, 30d, 90d). acme's volumes among its customers of the day:
# PAGE_VIEW 3 + 6 = 9, LOGIN 7 + 1 = 8, PAYMENT_RECEIVED 3, TIER_CHANGED 3, PAYMENT_FAILED 2
# (bm's 20 purchases are a merged profile's); globex: SUPPORT_TICKET 3, LOGIN 2, EXPORT 1,
# WEBINAR 1.
ALL_TYPE_COUNTS = {
    ("acme", "b1", "LOGIN"): (4, 7, 7),
    ("acme", "b1", "PAGE_VIEW"): (0, 0, 3),
    ("acme", "b2", "PAYMENT_RECEIVED"): (1, 1, 3),
    ("acme", "b2", "TIER_CHANGED"): (0, 1, 3),
    ("acme", "b2", "PAYMENT_FAILED"): (0, 1, 2),
    ("acme", "b5", "LOGIN"): (0, 1, 1),
    ("acme", "b5", "PAGE_VIEW"): (0, 0, 6),
    ("globex", "g1", "SUPPORT_TICKET"): (2, 2, 3),
    ("globex", "g1", "LOGIN"): (0, 1, 1),
    ("globex", "g2", "LOGIN"): (1, 1, 1),
    ("globex", "g2", "EXPORT"): (0, 0, 1),
    ("globex", "g2", "WEBINAR"): (1, 1, 1),
}
# The top 3: acme PAGE_VIEW, LOGIN, and of the two at 3 the one that sorts first,
# PAYMENT_RECEIVED; globex SUPPORT_TICKET, LOGIN and EXPORT (before WEBINAR).
TOP_3_TYPES = {
    "acme": {"PAGE_VIEW", "LOGIN", "PAYMENT_RECEIVED"},
    "globex": {"SUPPORT_TICKET", "LOGIN", "EXPORT"},
}


def _score(instance, engine, settings, day: date, log) -> None:
    registered = operations.sync_tenants(instance, engine, settings)
    outcomes = operations.score_day(instance, day, registered, None, log)
    assert all(outcome.success for outcome in outcomes), log.read_text()[-3000:]


def _read(engine, settings, table: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_query(
            text(f"select * from {settings.analytics_schema}.{table} where as_of_date = :d"),
            connection,
            params={"d": DAY},
        )


def _type_counts(engine, settings) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    rows = _read(engine, settings, "customer_activity_type_counts")
    return {
        (row.tenant_id, row.customer_id, row.activity_type): (row.count_7d, row.count_30d, row.count_90d)
        for row in rows.itertuples()
    }


def _assert_features(row: pd.Series, expected: dict, customer: str) -> None:
    for column, value in expected.items():
        if value is None:
            assert pd.isna(row[column]), (customer, column, row[column])
        else:
            assert row[column] == pytest.approx(value, abs=1e-9), (customer, column, row[column])


@pytest.fixture(scope="module")
def scored(module_instance, engine, settings, load_sources, tmp_path_factory):
    load_sources(SOURCES)
    _score(module_instance, engine, settings, DAY, tmp_path_factory.mktemp("behaviour") / "run.log")
    return module_instance


def test_behaviour_features_are_the_hand_counted_ones_before_as_of(scored, engine, settings) -> None:
    features = _read(engine, settings, "customer_behaviour_features").set_index("customer_id")
    assert set(features.index) == {"b1", "b2", "b3", "b4", "b5", "g1", "g2"}  # bm is merged
    assert (features["as_of"] == pd.Timestamp(AS_OF)).all()
    for customer, expected in EXPECTED.items():
        row = features.loc[customer]
        assert set(row.index) == {*KEYS, *expected} - {"customer_id"}, customer
        _assert_features(row, expected, customer)


def test_every_feature_column_is_numeric(scored, engine, settings) -> None:
    with engine.connect() as connection:
        types = dict(
            connection.execute(
                text(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = :schema and table_name = 'customer_behaviour_features'"
                ),
                {"schema": settings.analytics_schema},
            ).all()
        )
    features = {column: kind for column, kind in types.items() if column not in KEYS}
    assert set(features) == set(EXPECTED["b1"])
    assert set(features.values()) == {"integer", "double precision"}


def test_type_counts_cover_each_tenants_own_types(scored, engine, settings) -> None:
    assert _type_counts(engine, settings) == ALL_TYPE_COUNTS


# The labels of DAY (horizon 60 days): churned if, in [AS_OF, AS_OF + 60 days), the customer had
# no activity or its profile took a status other than ACTIVE / MERGED. b1 and b3 were active at
# AS_OF (the window's first instant), g2 a day later: stayed. b2 was active but went INACTIVE 20
# days into the window. b4 and b5 did something only at the window's end and after it, g1 not
# at all: churned, whatever they did before (b5 ten activities, b4 none).
LABEL_WINDOW_END = ago(-60)
EXPECTED_LABELS = {
    ("acme", "b1"): False, ("acme", "b2"): True, ("acme", "b3"): False, ("acme", "b4"): True,
    ("acme", "b5"): True, ("globex", "g1"): True, ("globex", "g2"): False,
}  # fmt: skip


@pytest.fixture(scope="module")
def rescored(scored, engine, settings, tmp_path_factory):
    """DAY scored again with the top 3 activity types, after b2 went INACTIVE 20 days into the
    label window (the rerun's profile history capture records it): the behaviour features of
    the first run, before anything changed."""
    first = _read(engine, settings, "customer_behaviour_features")
    with engine.begin() as connection:
        connection.execute(
            text(
                f"update {settings.source_schema}.customer_profiles "
                "set status = 'INACTIVE', updated_at = :at where id = 'b2'"
            ),
            {"at": ago(-20)},
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOP_TYPES_ENV, "3")
        _score(scored, engine, settings, DAY, tmp_path_factory.mktemp("rerun") / "run.log")
    return first


def test_a_rerun_reproduces_the_features_and_a_smaller_n_keeps_each_tenants_top_types(
    rescored, engine, settings
) -> None:
    order = ["tenant_id", "customer_id"]
    pd.testing.assert_frame_equal(
        _read(engine, settings, "customer_behaviour_features").sort_values(order, ignore_index=True),
        rescored.sort_values(order, ignore_index=True),
    )
    assert _type_counts(engine, settings) == {
        key: counts for key, counts in ALL_TYPE_COUNTS.items() if key[2] in TOP_3_TYPES[key[0]]
    }


# The at-risk population of DAY (the model's default): not already churned by the same silence
# definition, i.e. an activity in [AS_OF - 60 days, AS_OF), or created since. b3's activities are
# all at AS_OF or later (it only got emails and wrote notes before) and it was created in 2025:
# out. b4 did nothing either, but was created 10.5 days before AS_OF: too new to have been
# silent for 60 days, in. Everyone else acted within 20 days. The labels kept are unchanged.
AT_RISK_LABELS = {key: churned for key, churned in EXPECTED_LABELS.items() if key != ("acme", "b3")}


def _labels(
    engine, settings, days: list[date], observed_until: datetime, population: str = ALL_ACTIVE_POPULATION
) -> dict[tuple[str, str], bool]:
    labels = churn_labels(
        engine,
        features_table=f"{settings.analytics_schema}.customer_features",
        history_table=f"{settings.analytics_schema}.profile_history",
        activities_table=f"{settings.source_schema}.activities",
        tenant_ids=["acme", "globex"],
        days=days,
        tz=settings.tz,
        observed_until=observed_until,
        horizon_days=60,
        population=population,
    )
    assert list(labels.columns) == ["as_of_date", "tenant_id", "customer_id", "churned"]
    assert set(labels["as_of_date"]) <= {DAY}
    return {(row.tenant_id, row.customer_id): row.churned for row in labels.itertuples()}


def test_labels_read_only_the_window_after_as_of(rescored, engine, settings) -> None:
    assert _labels(engine, settings, [DAY], LABEL_WINDOW_END) == EXPECTED_LABELS
    # The same through the deployment's settings (CRM_SCORING_CHURN_HORIZON_DAYS: 60 by default),
    # whose population is the at-risk one by default.
    by_settings = training_labels(engine, settings, ["acme", "globex"], [DAY], LABEL_WINDOW_END)
    assert {
        (row.tenant_id, row.customer_id): row.churned for row in by_settings.itertuples()
    } == AT_RISK_LABELS

    # Activity just before AS_OF changes no label: b4 and g1 stay churners.
    before = [
        activity("b4", "LOGIN", ago(0, microseconds=-1), id="late-b4"),
        activity("g1", "LOGIN", ago(0.5), tenant="globex", id="late-g1"),
    ]
    with _extra_activities(engine, settings, before):
        assert _labels(engine, settings, [DAY], LABEL_WINDOW_END) == EXPECTED_LABELS


def test_the_at_risk_population_leaves_out_who_was_already_silent_for_the_horizon(
    rescored, engine, settings
) -> None:
    at_risk = partial(_labels, engine, settings, [DAY], LABEL_WINDOW_END, AT_RISK_POPULATION)
    assert at_risk() == AT_RISK_LABELS
    assert _predicted(engine, settings) == (set(AT_RISK_LABELS), 1)
    # b3's last activity before AS_OF: just over 60 days back stays out; exactly 60 days back
    # (the window's first instant) and 59 days back bring it in, labelled as before (it was
    # active at AS_OF: stayed). The day's predictions cover the same customers: the features
    # were built without these activities, so the probe of the source finds them.
    for days_ago, expected in (
        (60 + 1 / 24, AT_RISK_LABELS),
        (60, EXPECTED_LABELS),
        (59, EXPECTED_LABELS),
    ):
        with _extra_activities(engine, settings, [activity("b3", "LOGIN", ago(days_ago), id="b3-before")]):
            assert at_risk() == expected, days_ago
            assert _predicted(engine, settings) == (set(expected), len(EXPECTED_LABELS) - len(expected))


def _predicted(engine, settings) -> tuple[set[tuple[str, str]], int]:
    """The (tenant, customer) prediction_frame gives for DAY with a 60-day at-risk horizon, and
    how many ACTIVE customers it left out."""
    frame, left_out = prediction_frame(
        engine, settings, DayScope(DAY, ("acme", "globex"), AS_OF), ago(60), ["LOGIN"]
    )
    return set(zip(frame["tenant_id"], frame["customer_id"], strict=True)), left_out


@contextmanager
def _extra_activities(engine, settings, rows: list[dict]) -> Iterator[None]:
    """The rows in the source's activities for the block, then gone again."""
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {settings.source_schema}.activities "
                "(id, tenant_id, customer_id, type, occurred_at, metadata) "
                "values (:id, :tenant_id, :customer_id, :type, :occurred_at, :metadata)"
            ),
            rows,
        )
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(f"delete from {settings.source_schema}.activities where id = any(:ids)"),
                {"ids": [row["id"] for row in rows]},
            )


def test_days_whose_horizon_has_not_passed_are_not_labelled(rescored, engine, settings) -> None:
    # One microsecond short of the window's end: DAY's churn is not known yet.
    almost = LABEL_WINDOW_END - timedelta(microseconds=1)
    assert _labels(engine, settings, [DAY], almost) == {}
    assert days_with_observed_horizon([DAY], 60, almost, settings.tz) == []
    # DAY + 1 is never labelled at the end of DAY's window; DAY is (its end is included).
    later_days = [DAY, DAY + timedelta(days=1)]
    assert days_with_observed_horizon(later_days, 60, LABEL_WINDOW_END, settings.tz) == [DAY]
    assert _labels(engine, settings, later_days, LABEL_WINDOW_END) == EXPECTED_LABELS


def test_training_frame_pivots_the_type_counts(rescored, engine, settings) -> None:
    # Over both tenants, top 3 each: LOGIN 8 + 2, PAGE_VIEW 9, then PAYMENT_RECEIVED and
    # SUPPORT_TICKET at 3 (in that order), EXPORT 1.
    types = top_activity_types(engine, settings, ["acme", "globex"], [DAY], limit=4)
    assert types == ["LOGIN", "PAGE_VIEW", "PAYMENT_RECEIVED", "SUPPORT_TICKET"]
    frame = training_frame(engine, settings, ["acme", "globex"], [DAY], [*types, "WEBINAR"])
    assert frame["customer_id"].tolist() == ["b1", "b2", "b3", "b4", "b5", "g1", "g2"]
    assert list(frame.columns[:4]) == KEYS
    type_columns = [f"type__{kind}__count_{n}d" for kind in [*types, "WEBINAR"] for n in (7, 30, 90)]
    features = feature_columns(frame)
    assert set(features[: -len(type_columns)]) == set(EXPECTED["b1"]) and features[-len(type_columns) :] == (
        type_columns
    )
    rows = frame.set_index("customer_id")
    for customer, expected in EXPECTED.items():
        _assert_features(rows.loc[customer], expected, customer)

    def counts(customer: str, kind: str) -> list[int]:
        return [int(rows.loc[customer, f"type__{kind}__count_{n}d"]) for n in (7, 30, 90)]

    assert counts("b1", "LOGIN") == [4, 7, 7] and counts("b1", "PAGE_VIEW") == [0, 0, 3]
    assert counts("b1", "PAYMENT_RECEIVED") == [0, 0, 0]  # none before AS_OF
    assert counts("b2", "PAYMENT_RECEIVED") == [1, 1, 3] and counts("g1", "SUPPORT_TICKET") == [2, 2, 3]
    # g2's webinar is not among globex's top 3 of the day: the table has no row, so 0.
    assert counts("g2", "WEBINAR") == [0, 0, 0] and counts("g2", "LOGIN") == [1, 1, 1]
