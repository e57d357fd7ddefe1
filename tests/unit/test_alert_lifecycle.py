"""The alert lifecycle's decisions, day by day."""

from datetime import date

from crm_scoring.rules.alert_lifecycle import Episode, transitions
from crm_scoring.rules.alerts import alert_id

DAY = date(2026, 3, 15)
C = ("acme", "c1")


def episode(opened: date, resolved: date | None) -> Episode:
    return Episode(alert_id("acme", "c1", opened.isoformat()), "acme", "c1", opened, resolved)


def test_crossing_the_threshold_opens_one_alert() -> None:
    change = transitions(DAY, {C: 85}, [], cooldown_days=14)
    assert [e.alert_id for e in change.opened] == [alert_id("acme", "c1", "2026-03-15")]
    assert not change.continued and not change.resolved


def test_staying_above_keeps_the_same_alert_open() -> None:
    open_episode = episode(date(2026, 3, 1), None)
    change = transitions(DAY, {C: 90}, [open_episode], cooldown_days=14)
    assert change.continued == [open_episode.alert_id] and not change.opened


def test_falling_below_resolves() -> None:
    open_episode = episode(date(2026, 3, 1), None)
    change = transitions(DAY, {}, [open_episode], cooldown_days=14)
    assert change.resolved == [open_episode.alert_id]


def test_crossing_again_within_the_cooldown_reopens_instead_of_alerting() -> None:
    resolved = episode(date(2026, 3, 1), date(2026, 3, 2))  # 13 days before DAY: within 14
    change = transitions(DAY, {C: 81}, [resolved], cooldown_days=14)
    assert change.reopened == [resolved.alert_id] and not change.opened


def test_crossing_again_after_the_cooldown_is_a_new_alert() -> None:
    resolved = episode(date(2026, 2, 1), date(2026, 3, 1))  # exactly 14 days before DAY
    change = transitions(DAY, {C: 81}, [resolved], cooldown_days=14)
    assert [e.opened_on for e in change.opened] == [DAY] and not change.reopened
