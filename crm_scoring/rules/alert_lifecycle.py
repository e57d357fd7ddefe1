"""The churn-alert lifecycle: an alert opens when a customer crosses the threshold, stays open
(no new alert) while they stay above it, resolves when they fall below, and may open again
only after a cooldown; within the cooldown the resolved alert is re-opened instead.

Pure: given today's alerting customers and yesterday's episodes, decide what changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from crm_scoring.rules.alerts import alert_id

Customer = tuple[str, str]  # (tenant_id, customer_id)


@dataclass(frozen=True)
class Episode:
    alert_id: str
    tenant_id: str
    customer_id: str
    opened_on: date
    resolved_on: date | None

    @property
    def customer(self) -> Customer:
        return (self.tenant_id, self.customer_id)


@dataclass
class Transitions:
    opened: list[Episode] = field(default_factory=list)  # new alerts: to be delivered
    continued: list[str] = field(default_factory=list)  # alert ids still open
    reopened: list[str] = field(default_factory=list)  # resolved within the cooldown: open again
    resolved: list[str] = field(default_factory=list)  # fell below the threshold today


def transitions(
    day: date,
    alerting: dict[Customer, int],
    episodes: list[Episode],
    cooldown_days: int,
) -> Transitions:
    """``alerting``: customers at or above the threshold on ``day`` (with their score);
    ``episodes``: each customer's latest episode as it stood before ``day``."""
    latest = {episode.customer: episode for episode in episodes}
    result = Transitions()
    for customer, episode in latest.items():
        if episode.resolved_on is None and customer not in alerting:
            result.resolved.append(episode.alert_id)
    for customer in sorted(alerting):
        episode = latest.get(customer)
        if episode is not None and episode.resolved_on is None:
            result.continued.append(episode.alert_id)
        elif episode is not None and episode.resolved_on > day - timedelta(days=cooldown_days):
            result.reopened.append(episode.alert_id)
        else:
            tenant_id, customer_id = customer
            result.opened.append(
                Episode(alert_id(tenant_id, customer_id, day.isoformat()), tenant_id, customer_id, day, None)
            )
    return result
