"""Which (as_of_date, tenant) partitions a run covers, and the instants that bound their windows.

Pure: turns partition keys into the as-of instant and window starts every SQL query uses.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# 1: the day itself (data-quality checks); 30/90/180: the specification's windows; 7 and 365:
# the behaviour features' (customer_behaviour_features).
WINDOW_DAYS = (1, 7, 30, 90, 180, 365)

# A tenant id is its own Dagster partition key when it is plain: "|" separates a key's
# dimensions and "," separates keys in selections, so anything else gets a derived key.
TENANT_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
DERIVED_KEY_PREFIX = "~"
# data_quality_issues counts, per day, the events no scored tenant owns under this tenant_id
# (the dbt macro unknown_tenant_id() holds the same text).
UNKNOWN_TENANT_ID = "(unknown tenant)"


def tenant_partition_key(tenant_id: str) -> str:
    """The tenant's partition key: the id itself, or "~" + a hash for ids that cannot be keys
    (a plain id never starts with "~", so the two kinds cannot collide)."""
    if TENANT_KEY_PATTERN.match(tenant_id):
        return tenant_id
    return DERIVED_KEY_PREFIX + hashlib.sha256(tenant_id.encode()).hexdigest()[:24]


def as_of_instant(as_of_date: date, tz: ZoneInfo) -> datetime:
    """Partition date D is scored as of the end of D: D + 1 day, 00:00 in the partitions' zone."""
    return datetime.combine(as_of_date + timedelta(days=1), time(0), tzinfo=tz)


def window_start(as_of: datetime, days: int) -> datetime:
    """``date.setDate(date.getDate() - days)``: calendar days back, wall-clock time kept."""
    return as_of - timedelta(days=days)


def churn_window(as_of_date: date, horizon_days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The outcome window of day D: [as_of(D), as_of(D + horizon)), the horizon's days after D.
    The backtest of day D + horizon judges D's scores on the same window."""
    return as_of_instant(as_of_date, tz), as_of_instant(as_of_date + timedelta(days=horizon_days), tz)


def days_with_observed_horizon(
    days: Iterable[date], horizon_days: int, observed_until: datetime, tz: ZoneInfo
) -> list[date]:
    """The days (sorted, once each) whose whole outcome window ends by ``observed_until``: only
    they can be labelled; a later day's churn is not known yet."""
    return sorted(day for day in set(days) if churn_window(day, horizon_days, tz)[1] <= observed_until)


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


def tenant_batches(
    tenant_ids: Iterable[str], customers: Mapping[str, int], bound: int
) -> list[tuple[str, ...]]:
    """The tenants, in the order given, cut into consecutive batches of at most ``bound``
    customers (``customers``: each tenant's count; a missing one has none). A tenant of more
    than ``bound`` customers is a batch of its own: a partition is written whole."""
    batches: list[tuple[str, ...]] = []
    batch: list[str] = []
    total = 0
    for tenant_id in tenant_ids:
        count = customers.get(tenant_id, 0)
        if batch and total + count > bound:
            batches.append(tuple(batch))
            batch, total = [], 0
        batch.append(tenant_id)
        total += count
    if batch:
        batches.append(tuple(batch))
    return batches


def split_new_tenants(found: Iterable[str], known_keys: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """({partition key: tenant id} to register, blank tenant ids that are no tenant at all)."""
    known = set(known_keys)
    tenants = set(found)
    new = {
        tenant_partition_key(tenant): tenant
        for tenant in sorted(tenants)
        if tenant.strip() and tenant_partition_key(tenant) not in known
    }
    return new, sorted(tenant for tenant in tenants if not tenant.strip())
