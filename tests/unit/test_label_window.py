"""The churn labels' outcome window and which days it lets be labelled (pure time arithmetic)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from crm_scoring.scope import churn_window, days_with_observed_horizon

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_window_runs_from_the_end_of_the_day_to_the_end_of_the_horizons_last_day() -> None:
    # 2026-03-15 ends at 2026-03-16 00:00; 60 days later is 2026-05-15 00:00.
    assert churn_window(date(2026, 3, 15), 60, UTC) == (
        datetime(2026, 3, 16, tzinfo=UTC),
        datetime(2026, 5, 15, tzinfo=UTC),
    )
    # Across the switch to summer time (2026-03-29) both ends are local midnights: 23:00 UTC
    # (CET, UTC+1) at the start, 22:00 UTC (CEST, UTC+2) at the end.
    start, end = churn_window(date(2026, 3, 15), 60, BERLIN)
    assert start.astimezone(UTC) == datetime(2026, 3, 15, 23, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 5, 14, 22, tzinfo=UTC)


def test_only_days_whose_whole_window_has_passed_are_labelled() -> None:
    observed_until = datetime(2026, 5, 15, tzinfo=UTC)  # the end of 2026-03-15's window
    days = [date(2026, 3, 16), date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 14)]
    assert days_with_observed_horizon(days, 60, observed_until, UTC) == [date(2026, 3, 14), date(2026, 3, 15)]
    just_before = observed_until - timedelta(microseconds=1)
    assert days_with_observed_horizon(days, 60, just_before, UTC) == [date(2026, 3, 14)]
    # A shorter horizon lets later days in.
    assert days_with_observed_horizon(days, 59, observed_until, UTC) == [
        date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 16)
    ]  # fmt: skip
    # In Berlin the window of 2026-03-15 ends at 22:00 UTC the day before.
    assert days_with_observed_horizon(days, 60, datetime(2026, 5, 14, 22, tzinfo=UTC), BERLIN) == [
        date(2026, 3, 14), date(2026, 3, 15)
    ]  # fmt: skip
