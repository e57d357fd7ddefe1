"""Which (as_of_date, tenant) partitions a run covers, and the instants that bound their windows.

Pure: turns partition keys into the as-of instant and window starts every SQL query uses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# 1: the day itself (data-quality checks); 30/90/180: the specification's windows.
WINDOW_DAYS = (1, 30, 90, 180)

# A tenant id becomes a Dagster partition key: "|" separates the key's dimensions and
# "," separates keys in selections, so only a conservative alphabet is accepted.
TENANT_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


def is_valid_tenant_key(tenant_id: str) -> bool:
    return bool(TENANT_KEY_PATTERN.match(tenant_id))


def as_of_instant(as_of_date: date, tz: ZoneInfo) -> datetime:
    """Partition date D is scored as of the end of D: D + 1 day, 00:00 in the partitions' zone."""
    return datetime.combine(as_of_date + timedelta(days=1), time(0), tzinfo=tz)


def window_start(as_of: datetime, days: int) -> datetime:
    """``date.setDate(date.getDate() - days)``: calendar days back, wall-clock time kept."""
    return as_of - timedelta(days=days)


@dataclass(frozen=True)
class DayScope:
    """One as_of_date and the tenants a run scores for it."""

    as_of_date: date
    tenant_ids: tuple[str, ...]
    as_of: datetime

    def since(self, days: int) -> datetime:
        return window_start(self.as_of, days)


def day_scopes(date_tenant_pairs: Iterable[tuple[str, str]], tz: ZoneInfo) -> list[DayScope]:
    """Groups (YYYY-MM-DD, tenant) pairs by date, in date order, tenants sorted."""
    tenants_by_date: dict[date, set[str]] = defaultdict(set)
    for day, tenant in date_tenant_pairs:
        tenants_by_date[date.fromisoformat(day)].add(tenant)
    return [
        DayScope(day, tuple(sorted(tenants)), as_of_instant(day, tz))
        for day, tenants in sorted(tenants_by_date.items())
    ]


def split_new_tenants(found: Iterable[str], known: Iterable[str]) -> tuple[list[str], list[str]]:
    """(new tenants to register, tenant ids rejected as partition keys), both sorted."""
    known_set = set(known)
    fresh = sorted(set(found) - known_set)
    return (
        [tenant for tenant in fresh if is_valid_tenant_key(tenant)],
        [tenant for tenant in fresh if not is_valid_tenant_key(tenant)],
    )
