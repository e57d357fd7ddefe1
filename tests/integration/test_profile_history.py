"""The profile history's capture, worked out by hand from the type-2 rules it keeps (those of a
dbt snapshot with strategy timestamp on updated_at, hard deletes invalidated)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from crm_scoring.warehouse.profile_history import capture_profile_changes
from tests.integration.dataset import profile

pytestmark = pytest.mark.integration

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, tzinfo=UTC)
T0 = datetime(2025, 12, 1, tzinfo=UTC)


def _versions(engine, settings) -> list[tuple]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "select customer_id, status, dbt_valid_from, dbt_valid_to is null, "
                    "dbt_valid_to, dbt_scd_id = md5(customer_id || '|' || cast(updated_at as varchar)) "
                    f"from {settings.analytics_schema}.profile_history order by customer_id, dbt_valid_from"
                )
            )
        ]


def _set_profiles(engine, settings, rows: list[dict]) -> None:
    table = f"{settings.source_schema}.customer_profiles"
    with engine.begin() as connection:
        connection.execute(text(f"delete from {table}"))
        columns = list(rows[0])
        connection.execute(
            text(f"insert into {table} ({', '.join(columns)}) values ({', '.join(':' + c for c in columns)})"),  # noqa: E501
            rows,
        )


def test_capture_opens_closes_and_reopens_versions_as_the_type_2_rules_say(engine, settings, load_sources):
    load_sources({})
    profiles = f"{settings.source_schema}.customer_profiles"
    history = f"{settings.analytics_schema}.profile_history"
    created = {"created_at": T0}

    _set_profiles(engine, settings, [profile("a", "acme", updated_at=T1, **created),
                                     profile("b", "acme", updated_at=T1, **created)])  # fmt: skip
    first = capture_profile_changes(engine, profiles, history)
    assert (first.opened, first.closed_changed, first.closed_vanished) == (2, 0, 0)

    # a: changed later (new version, the old one ends at the new updated_at); b: vanished;
    # c: new. Nothing else moves.
    _set_profiles(engine, settings, [profile("a", "acme", "INACTIVE", updated_at=T2, **created),
                                     profile("c", "acme", updated_at=T2, **created)])  # fmt: skip
    before = datetime.now(UTC)
    second = capture_profile_changes(engine, profiles, history)
    assert (second.opened, second.closed_changed, second.closed_vanished) == (2, 1, 1)
    rows = _versions(engine, settings)
    assert [row[:4] for row in rows] == [
        ("a", "ACTIVE", T1, False),
        ("a", "INACTIVE", T2, True),
        ("b", "ACTIVE", T1, False),
        ("c", "ACTIVE", T2, True),
    ]
    assert rows[0][4] == T2  # closed by the change, at its updated_at
    assert rows[2][4] >= before  # closed when the capture noticed it vanished
    assert all(row[5] for row in rows)  # the snapshot's scd id: md5(id|updated_at)

    # a: updated_at back in time, and an unchanged capture: no change; b: back, a new version.
    _set_profiles(engine, settings, [profile("a", "acme", "ACTIVE", updated_at=T1, **created),
                                     profile("b", "acme", "ACTIVE", updated_at=T1, **created),
                                     profile("c", "acme", updated_at=T2, **created)])  # fmt: skip
    third = capture_profile_changes(engine, profiles, history)
    assert (third.opened, third.closed_changed, third.closed_vanished) == (1, 0, 0)
    again = capture_profile_changes(engine, profiles, history)
    assert (again.opened, again.closed_changed, again.closed_vanished) == (0, 0, 0)
    assert [row[:4] for row in _versions(engine, settings)] == [
        ("a", "ACTIVE", T1, False),
        ("a", "INACTIVE", T2, True),
        ("b", "ACTIVE", T1, False),
        ("b", "ACTIVE", T1, True),
        ("c", "ACTIVE", T2, True),
    ]
