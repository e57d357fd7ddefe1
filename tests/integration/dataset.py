"""A hand-built CRM dataset whose scores are worked out by hand from the specification.

Partition date D = 2026-03-15 (UTC), so as_of = 2026-03-16 00:00 UTC. Each customer exercises
particular branches; EXPECTED holds the scores derived in the comments, not from the code.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg

DAY = date(2026, 3, 15)
AS_OF = datetime(2026, 3, 16, tzinfo=UTC)
PROFILES_SINCE = datetime(2025, 6, 1, tzinfo=UTC)


def ago(days: float = 0, hours: float = 0, microseconds: int = 0) -> datetime:
    return AS_OF - timedelta(days=days, hours=hours) + timedelta(microseconds=microseconds)


def profile(customer_id: str, tenant: str, status: str = "ACTIVE", **columns) -> dict:
    base = {
        "id": customer_id,
        "tenant_id": tenant,
        "status": status,
        "deleted_at": None,
        "lifetime_value": None,
        "email_opt_in": False,
        "sms_opt_in": False,
        "push_opt_in": False,
        "whatsapp_opt_in": False,
        "last_email_open_at": None,
        # Long before DAY and unchanged since: the profile state of DAY is this row.
        "created_at": PROFILES_SINCE,
        "updated_at": PROFILES_SINCE,
    }
    return base | columns


_counter = iter(range(1, 10_000))


def activity(customer_id: str, kind: str, at: datetime, tenant: str = "acme", **kw) -> dict:
    metadata = kw.get("metadata")
    return {
        "id": kw.get("id") or f"a{next(_counter):04d}",
        "tenant_id": tenant,
        "customer_id": customer_id,
        "type": kind,
        "occurred_at": at,
        "metadata": None if metadata is None else json.dumps(metadata),
    }


def interaction(customer_id: str, kind: str, at: datetime, tenant: str = "acme") -> dict:
    return {
        "id": f"i{next(_counter):04d}",
        "tenant_id": tenant,
        "customer_id": customer_id,
        "campaign_id": "spring",
        "type": kind,
        "occurred_at": at,
    }


def note(customer_id: str, kind: str, at: datetime, tenant: str = "acme") -> dict:
    return {
        "id": f"n{next(_counter):04d}",
        "tenant_id": tenant,
        "customer_id": customer_id,
        "type": kind,
        "created_at": at,
        "body": "…",
    }


PROFILES = [
    profile(
        "c1", "acme", lifetime_value=60000, email_opt_in=True, sms_opt_in=True, last_email_open_at=ago(20)
    ),
    profile("c2", "acme", last_email_open_at=ago(61)),
    profile(
        "c3",
        "acme",
        status="INACTIVE",
        lifetime_value=5000,
        email_opt_in=True,
        sms_opt_in=True,
        push_opt_in=True,
        whatsapp_opt_in=True,
    ),
    profile("c4", "acme", status="MERGED", lifetime_value=999999),
    profile("c5", "acme", deleted_at=ago(3), lifetime_value=999999),
    profile("c6", "acme", email_opt_in=True, push_opt_in=True, last_email_open_at=ago(3)),
    profile("c7", "acme", lifetime_value=10000),
    profile("c8", "acme"),
    profile(
        "g1",
        "globex",
        lifetime_value=100000,
        email_opt_in=True,
        sms_opt_in=True,
        push_opt_in=True,
        whatsapp_opt_in=True,
        last_email_open_at=ago(1),
    ),
]

ACTIVITIES = [
    # c1: 3 activities in 30 days (one at 1.96 days: 1 whole day), 7 more in days 40-46.
    activity("c1", "LOGIN", ago(2, hours=-1)),
    activity("c1", "PAYMENT_FAILED", ago(10)),
    activity("c1", "PAYMENT_RECEIVED", ago(20)),
    *[activity("c1", "PAGE_VIEW", ago(40 + i)) for i in range(7)],
    activity("c1", "TIER_CHANGED", ago(100), metadata={"reason": "downgrade"}),
    activity("c1", "PURCHASE", ago(-1 / 24)),  # one hour AFTER as_of: ignored
    # c2: three failed payments 62-80 days ago, a downgrade 150 days ago.
    activity("c2", "PAYMENT_FAILED", ago(62)),
    activity("c2", "PAYMENT_FAILED", ago(70)),
    activity("c2", "PAYMENT_FAILED", ago(80)),
    activity("c2", "TIER_CHANGED", ago(150), metadata={"reason": "downgrade"}),
    # c6: two recent page views.
    activity("c6", "PAGE_VIEW", ago(1)),
    activity("c6", "PAGE_VIEW", ago(3)),
    # c7: one login 8 days minus half a millisecond ago (a JS Date truncates it to 8 days).
    activity("c7", "LOGIN", ago(8, microseconds=500)),
    # c8: two tier changes at the same instant; the tie breaks on id: "tc-b" (downgrade) wins.
    activity("c8", "TIER_CHANGED", ago(10), id="tc-a", metadata={"reason": "upgrade"}),
    activity("c8", "TIER_CHANGED", ago(10), id="tc-b", metadata={"reason": "downgrade"}),
    activity("c8", "TIER_CHANGED", ago(12), metadata="downgrade"),  # not an object: no reason
    # g1: 20 activities in the last 30 days; one is labelled with the wrong tenant but belongs
    # to g1 by customer_id (the profile's tenant is authoritative).
    *[activity("g1", "PAGE_VIEW", ago(1 + i), tenant="globex") for i in range(19)],
    activity("g1", "PAGE_VIEW", ago(25), tenant="acme"),
    # MERGED and deleted customers have activity but are never scored.
    activity("c4", "LOGIN", ago(1)),
    activity("c5", "LOGIN", ago(1)),
]

INTERACTIONS = [
    # c1: 4 sent, 3 opened, 1 clicked in 30 days; one send 31 days ago is outside the window.
    *[interaction("c1", "SENT", ago(5 + i)) for i in range(4)],
    *[interaction("c1", "OPENED", ago(5 + i)) for i in range(3)],
    interaction("c1", "CLICKED", ago(5)),
    interaction("c1", "SENT", ago(31)),
    # c7: 2 sent but 5 opens recorded: the open rate is capped at 1 (deliberate fix).
    *[interaction("c7", "SENT", ago(2)) for _ in range(2)],
    *[interaction("c7", "OPENED", ago(2)) for _ in range(5)],
    # g1: 10 of each.
    *[
        interaction("g1", kind, ago(3), tenant="globex")
        for kind in ("SENT", "OPENED", "CLICKED")
        for _ in range(10)
    ],
]

NOTES = [
    note("c1", "COMPLAINT", ago(30)),
    note("c1", "GENERAL", ago(2)),
    note("c1", "COMPLAINT", ago(100)),  # outside 90 days
    *[note("c2", "COMPLAINT", ago(5 + i)) for i in range(3)],
    note("c2", "COMPLAINT", ago(-2)),  # after as_of: ignored
]

SOURCES = {
    "customer_profiles": PROFILES,
    "activities": ACTIVITIES,
    "campaign_interactions": INTERACTIONS,
    "customer_notes": NOTES,
}

# (engagement, churn, components...) worked out from the specification:
EXPECTED = {
    # recency 1 day -> 100; frequency 3 -> 40; ltv 60000 -> 80; 2 channels -> 50;
    # depth .75*50 + (1/3)*50 = 54.17 -> 54.
    # engagement 30 + 10 + 16 + 7.5 + 5.4 = 68.9 -> 69.
    # decline: recent 3, older 7, (3.5-3)/3.5 = 0.14 -> 25; payment 1 failed, 1 received -> 40;
    # open 20 days ago -> 40; downgrade 100 days ago (within 180) -> 80; 1 complaint -> 60.
    # churn 8.75 + 10 + 8 + 8 + 6 = 40.75 -> 41.
    ("acme", "c1"): {
        "engagement_score": 69,
        "churn_risk_score": 41,
        "recency_score": 100,
        "frequency_score": 40,
        "monetary_score": 80,
        "breadth_score": 50,
        "depth_score": 54,
        "activity_decline_risk": 25,
        "payment_risk": 40,
        "engagement_drop_risk": 40,
        "tier_downgrade_risk": 80,
        "complaint_risk": 60,
    },
    # recency 62 days -> 20; no 30-day activity -> 0; no ltv -> 0; no channel; no campaign 50.
    # engagement 6 + 5 = 11. decline: recent 0, last 62 days ago -> 80; 3 failed -> 100;
    # open 61 days ago -> 100; downgrade -> 80; 3 complaints -> 100.
    # churn 28 + 25 + 20 + 8 + 10 = 91 -> alert.
    ("acme", "c2"): {
        "engagement_score": 11,
        "churn_risk_score": 91,
        "recency_score": 20,
        "frequency_score": 0,
        "monetary_score": 0,
        "breadth_score": 0,
        "depth_score": 50,
        "activity_decline_risk": 80,
        "payment_risk": 100,
        "engagement_drop_risk": 100,
        "tier_downgrade_risk": 80,
        "complaint_risk": 100,
    },
    # never active: 0, 0; ltv 5000 -> 20; 4 channels -> 100; depth 50.
    # engagement 4 + 15 + 5 = 24. churn: never active 100 -> 35; never opened -> 50 -> 10 = 45.
    ("acme", "c3"): {
        "engagement_score": 24,
        "churn_risk_score": 45,
        "recency_score": 0,
        "frequency_score": 0,
        "monetary_score": 20,
        "breadth_score": 100,
        "depth_score": 50,
        "activity_decline_risk": 100,
        "payment_risk": 0,
        "engagement_drop_risk": 50,
        "tier_downgrade_risk": 0,
        "complaint_risk": 0,
    },
    # recency 1 -> 100; 2 -> 40; 0; 2 channels 50; depth 50: 30 + 10 + 7.5 + 5 = 52.5 -> 53
    # (Python's round would say 52). churn: only recent activity 0, open 3 days ago 0 -> 0.
    ("acme", "c6"): {
        "engagement_score": 53,
        "churn_risk_score": 0,
        "recency_score": 100,
        "frequency_score": 40,
        "monetary_score": 0,
        "breadth_score": 50,
        "depth_score": 50,
        "activity_decline_risk": 0,
        "payment_risk": 0,
        "engagement_drop_risk": 0,
        "tier_downgrade_risk": 0,
        "complaint_risk": 0,
    },
    # recency 8 days (ms truncation) -> 80; 1 -> 20; ltv 10000 -> 40; none; depth: open rate
    # 5/2 capped at 1 -> 50 + click 0 -> 50. engagement 24 + 5 + 8 + 0 + 5 = 42.
    # churn: only recent activity 0; never opened 50 -> 10 = 10.
    ("acme", "c7"): {
        "engagement_score": 42,
        "churn_risk_score": 10,
        "recency_score": 80,
        "frequency_score": 20,
        "monetary_score": 40,
        "breadth_score": 0,
        "depth_score": 50,
        "activity_decline_risk": 0,
        "payment_risk": 0,
        "engagement_drop_risk": 50,
        "tier_downgrade_risk": 0,
        "complaint_risk": 0,
    },
    # 3 tier changes in 30 days (10, 10, 12 days ago): recency 10 -> 80; 3 -> 40; depth 50.
    # engagement 24 + 10 + 5 = 39. churn: only recent activity 0; never opened 10;
    # latest change: tie at 10 days broken by id, tc-b "downgrade" -> 80 -> 8. 18.
    ("acme", "c8"): {
        "engagement_score": 39,
        "churn_risk_score": 18,
        "recency_score": 80,
        "frequency_score": 40,
        "monetary_score": 0,
        "breadth_score": 0,
        "depth_score": 50,
        "activity_decline_risk": 0,
        "payment_risk": 0,
        "engagement_drop_risk": 50,
        "tier_downgrade_risk": 80,
        "complaint_risk": 0,
    },
    # 20 activities in 30 days: everything maxed: 30 + 25 + 20 + 15 + 10 = 100; churn 0.
    ("globex", "g1"): {
        "engagement_score": 100,
        "churn_risk_score": 0,
        "recency_score": 100,
        "frequency_score": 100,
        "monetary_score": 100,
        "breadth_score": 100,
        "depth_score": 100,
        "activity_decline_risk": 0,
        "payment_risk": 0,
        "engagement_drop_risk": 0,
        "tier_downgrade_risk": 0,
        "complaint_risk": 0,
    },
}

# ACTIVE customers only (c3 is INACTIVE): acme c1 69/41, c2 11/91, c6 53/0, c7 42/10, c8 39/18.
EXPECTED_ENGAGEMENT = {
    "acme": {"High (70-100)": 0, "Medium (40-69)": 3, "Low (1-39)": 2, "Inactive (0)": 0},
    "globex": {"High (70-100)": 1, "Medium (40-69)": 0, "Low (1-39)": 0, "Inactive (0)": 0},
}
EXPECTED_OVERVIEW = {
    "acme": {"critical": 1, "high": 0, "medium": 1, "low": 3, "total": 5},
    "globex": {"critical": 0, "high": 0, "medium": 0, "low": 1, "total": 1},
}
EXPECTED_ALERTS = {("acme", "c2"): 91}


def partition_metadata(instance: dg.DagsterInstance, asset: str, tenant: str, day: date = DAY) -> dict:
    """The metadata values of the latest materialization of one (day, tenant) partition."""
    key = dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[f"{day}|{tenant}"])
    [record] = instance.fetch_materializations(key, limit=1).records
    return {name: value.value for name, value in record.asset_materialization.metadata.items()}
