"""The honest generator (`generate --data honest`): churn caused by a hidden, drifting
satisfaction, seen only partly and noisily in the CRM's tables.

The default generator (``synthetic.py``) plants the signals the specification's churn rules
look for, so the score is judged on data shaped like itself. Here nothing is planted for a
rule: each customer has a satisfaction that drifts week by week (a mean-reverting random walk
with a per-customer volatility); it sets a weekly churn hazard, together with a hazard that
has no cause at all and a higher hazard in the customer's first weeks. The CRM never stores
satisfaction: it shows only through activity level and mix, payment failures, complaints and
email opens, each also driven by noise. Some churners fade out over weeks, others stop at
once. Tenants differ in activity vocabulary, billing, notes and base rates. The design and
the figures measured on it: docs/synthetic-data.md.

Vectorised with numpy in weekly steps; only event arrays are kept, so `large` (1M customers)
fits in memory. Deterministic for a seed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm_scoring.devtools.synthetic import (
    CHUNK_ROWS,
    GeneratedCounts,
    Size,
    iso_timestamps,
    load_source_tables,
    tenant_ids,
)

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
PAYMENT_CYCLE_S = 30.4 * DAY_S
PRE_HISTORY_WEEKS = 26  # the first customers joined this long before the loaded history starts

# Every activity type any tenant uses; a tenant's vocabulary is the subset it gives a weight.
ACTIVITY_TYPES = np.array(
    [
        "PAGE_VIEW",
        "LOGIN",
        "PURCHASE",
        "EMAIL_CLICK",
        "SUPPORT_TICKET",
        "APP_OPEN",
        "FEATURE_USED",
        "DOWNLOAD",
        "TIER_CHANGED",
        "PAYMENT_RECEIVED",
        "PAYMENT_FAILED",
    ]
)
_TYPE_CODE = {name: code for code, name in enumerate(ACTIVITY_TYPES)}
# How a type's share moves with satisfaction (its weight times exp(effect x satisfaction)):
# unhappy customers buy and use less and open more tickets.
MIX_SATISFACTION_EFFECT = {
    "PURCHASE": 0.6,
    "FEATURE_USED": 0.3,
    "DOWNLOAD": 0.3,
    "SUPPORT_TICKET": -0.8,
}
# Money-moving events change the profile's lifetime value, so they bump its updated_at.
_VALUE_TYPES = ("PURCHASE", "PAYMENT_RECEIVED")


@dataclass(frozen=True)
class TenantKind:
    """A kind of CRM: its activity vocabulary and mix (weights of a customer at satisfaction
    0), whether it bills monthly (PAYMENT_* events) and whether its staff keep notes."""

    name: str
    activity_weights: dict[str, float]
    bills_monthly: bool
    keeps_notes: bool


TENANT_KINDS = (
    TenantKind(
        "shop",
        {
            "PAGE_VIEW": 0.45,
            "LOGIN": 0.2,
            "PURCHASE": 0.15,
            "EMAIL_CLICK": 0.08,
            "SUPPORT_TICKET": 0.05,
            "TIER_CHANGED": 0.01,
        },
        bills_monthly=True,
        keeps_notes=True,
    ),
    TenantKind(
        "app",
        {"APP_OPEN": 0.5, "FEATURE_USED": 0.3, "LOGIN": 0.12, "SUPPORT_TICKET": 0.04, "TIER_CHANGED": 0.01},
        bills_monthly=True,
        keeps_notes=False,
    ),
    TenantKind(
        "media",
        {"PAGE_VIEW": 0.5, "DOWNLOAD": 0.25, "LOGIN": 0.2, "SUPPORT_TICKET": 0.03},
        bills_monthly=False,
        keeps_notes=True,
    ),
    TenantKind(
        "services",
        {"LOGIN": 0.4, "PURCHASE": 0.2, "FEATURE_USED": 0.2, "SUPPORT_TICKET": 0.12, "TIER_CHANGED": 0.02},
        bills_monthly=True,
        keeps_notes=True,
    ),
)


@dataclass(frozen=True)
class Behaviour:
    """The simulator's parameters. Satisfaction is unitless, about N(0, 0.8) across customers."""

    # satisfaction: x(w+1) = x(w) + reversion * (own mean - x(w)) + volatility * N(0, 1)
    reversion: float = 0.08
    mean_spread: float = 0.5  # sd of customers' own means
    volatility_median: float = 0.25  # per week; lognormal across customers
    volatility_spread: float = 0.5
    # weekly churn hazard = tenure factor * (background + caused * exp(-effect * satisfaction)),
    # caused scaled per tenant; background has no cause at all
    caused_hazard: float = 0.007
    hazard_satisfaction_effect: float = 1.4
    background_hazard: float = 0.0015
    tenant_hazard_spread: float = 0.3  # lognormal sd of a tenant's factor on the caused hazard
    # first `new_days` of tenure: factor `new_factor`; linear down to 1 at `settled_days`
    new_days: float = 30.0
    settled_days: float = 90.0
    new_factor: float = 4.0
    # settled churners fade out over 2-8 weeks (activity thinning linearly) this often; the
    # others, and every new customer, stop within the week the hazard fires
    fade_share: float = 0.5
    fade_weeks: tuple[int, int] = (2, 8)
    # activity: weekly rate = customer's rate * exp(effect * satisfaction) * Gamma(shape)/shape
    activity_spread: float = 0.5  # lognormal sd of customers' rates
    tenant_activity_spread: float = 0.3
    activity_satisfaction_effect: float = 0.25
    activity_burstiness: float = 4.0
    mix_satisfaction_effect: dict[str, float] = field(default_factory=lambda: dict(MIX_SATISFACTION_EFFECT))
    # monthly billing: a payment fails with logistic(logit(base) - effect * satisfaction) and is
    # retried successfully 2-5 days later this often
    payment_failure_base: float = 0.04
    payment_failure_satisfaction_effect: float = 1.2
    payment_retry_success: float = 0.6
    # email: a weekly newsletter to opted-in customers (sends per week, Poisson), opened with
    # logistic(own propensity + effect * satisfaction)
    sends_per_week: float = 1.0
    open_rate_median: float = 0.35
    open_propensity_spread: float = 1.0
    open_satisfaction_effect: float = 1.0
    click_given_open: float = 0.3
    # notes (tenants that keep them) per customer and year; complaints are a share of them,
    # times exp(-effect * satisfaction)
    notes_per_year: float = 2.0
    complaint_share: float = 0.4
    complaint_satisfaction_effect: float = 1.3
    # tier changes: a downgrade with logistic(logit(base) - effect * satisfaction): weak
    downgrade_base: float = 0.4
    downgrade_satisfaction_effect: float = 0.3
    # after churn the CRM sets the profile INACTIVE this often, 1-8 weeks later (when noticed)
    noticed_share: float = 0.8
    noticed_weeks: tuple[float, float] = (1.0, 8.0)
    email_opt_in_share: float = 0.7
    unknown_lifetime_value_share: float = 0.05


@dataclass
class Events:
    """One table's events in time order: owner (customer index), epoch seconds, a per-table
    code, and a flag (activities: a tier change that is a downgrade)."""

    owner: np.ndarray
    at: np.ndarray
    code: np.ndarray
    flag: np.ndarray

    @classmethod
    def gather(cls, parts: list[tuple[np.ndarray, ...]]) -> Events:
        """From weekly (owner, at, code[, flag]) parts."""
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        owner, at, code = columns[:3]
        flag = columns[3] if len(columns) > 3 else np.zeros(len(at), bool)
        order = np.argsort(at, kind="stable")  # a CRM appends events in time order
        return cls(owner[order].astype(np.int32), at[order], code[order].astype(np.int8), flag[order])

    def where(self, keep: np.ndarray) -> Events:
        return Events(self.owner[keep], self.at[keep], self.code[keep], self.flag[keep])


@dataclass
class HonestCrm:
    """What the simulator made: per customer and per table, before any row is formatted.

    ``churn_s`` is the instant a customer left (inf: never), ``decided_s`` when its hazard
    fired (a fading churner leaves weeks later), ``noticed_s`` when the CRM set it INACTIVE
    (nan: never). Interaction codes: 0 SENT, 1 OPENED, 2 CLICKED; note codes: 0 COMPLAINT,
    1 GENERAL, 2 CALL."""

    start_s: float
    end_s: float
    tenant_index: np.ndarray
    tenant_kinds: list[TenantKind]
    joined_s: np.ndarray
    decided_s: np.ndarray
    churn_s: np.ndarray
    faded: np.ndarray
    noticed_s: np.ndarray
    email_opt_in: np.ndarray
    price: np.ndarray
    lifetime_payments: np.ndarray
    activities: Events
    interactions: Events
    notes: Events


def tenant_kind(tenant_number: int) -> TenantKind:
    """The kind of the n-th tenant (0-based): the kinds in turn, so every size has each."""
    return TENANT_KINDS[tenant_number % len(TENANT_KINDS)]


def generate(
    engine: Engine,
    schema: str,
    size: Size,
    *,
    end: datetime,
    seed: int = 7,
    replace: bool = False,
    progress: bool = True,
    behaviour: Behaviour = Behaviour(),
) -> GeneratedCounts:
    """Simulates ``size`` with history ending at ``end`` (aware) and loads it with COPY."""
    crm = simulate(size, end.timestamp(), seed, behaviour)
    rng = np.random.default_rng([seed, 1])  # profile fields drawn after the simulation
    return load_source_tables(
        engine,
        schema,
        [profiles(crm, rng, behaviour)],
        activities=_activity_frames(crm),
        interactions=_interaction_frames(crm),
        notes=_note_frames(crm),
        replace=replace,
        progress=progress,
    )


def tenure_factor(tenure_days: np.ndarray, behaviour: Behaviour) -> np.ndarray:
    """The hazard's factor for tenure: ``new_factor`` in the first ``new_days``, falling
    linearly to 1 at ``settled_days``."""
    b = behaviour
    ramp = (b.settled_days - tenure_days) / (b.settled_days - b.new_days)
    return 1 + (b.new_factor - 1) * np.clip(ramp, 0, 1)


def simulate(size: Size, end_s: float, seed: int, behaviour: Behaviour = Behaviour()) -> HonestCrm:
    """The CRM of ``size``'s tenants and customers over ``size.history_days`` up to ``end_s``.

    Of the size only tenants, customers, history and the activity rate are used: the honest
    CRM sends a weekly newsletter and keeps ``notes_per_year`` whatever the size."""
    b = behaviour
    rng = np.random.default_rng(seed)
    n = size.customers
    start_s = end_s - size.history_days * DAY_S
    weeks = int(np.ceil((end_s - start_s) / WEEK_S)) + PRE_HISTORY_WEEKS
    sim_start_s = end_s - weeks * WEEK_S

    kinds = [tenant_kind(number) for number in range(size.tenants)]
    tenant_weights = 1.0 / np.arange(1, size.tenants + 1) ** 1.1
    tenant_index = rng.choice(size.tenants, size=n, p=tenant_weights / tenant_weights.sum())
    tenant_hazard = rng.lognormal(0, b.tenant_hazard_spread, size.tenants)[tenant_index]
    tenant_activity = rng.lognormal(0, b.tenant_activity_spread, size.tenants)[tenant_index]
    bills = np.array([kind.bills_monthly for kind in kinds])[tenant_index]
    keeps_notes = np.array([kind.keeps_notes for kind in kinds])[tenant_index]
    mix = _mix_table(kinds)  # tenants x types: each tenant's base weights
    effects = np.array([b.mix_satisfaction_effect.get(name, 0.0) for name in ACTIVITY_TYPES])

    joined_s = rng.uniform(sim_start_s, end_s - 5 * DAY_S, n)
    own_mean = rng.normal(0, b.mean_spread, n)
    volatility = b.volatility_median * rng.lognormal(0, b.volatility_spread, n)
    satisfaction = own_mean + rng.normal(0, 1, n) * volatility / np.sqrt(b.reversion * (2 - b.reversion))
    rate = (
        size.activities_per_customer
        / 365
        * 7
        * tenant_activity
        * rng.lognormal(-(b.activity_spread**2) / 2, b.activity_spread, n)
    )
    open_propensity = rng.normal(_logit(b.open_rate_median), b.open_propensity_spread, n)
    email_opt_in = rng.random(n) < b.email_opt_in_share
    price = np.round(rng.lognormal(np.log(2_500), 0.8, n))
    next_payment_s = joined_s + rng.uniform(0, PAYMENT_CYCLE_S, n)
    lifetime_payments = np.zeros(n, np.int32)

    decided_s = np.full(n, np.inf)
    churn_s = np.full(n, np.inf)
    faded = np.zeros(n, bool)
    activities: list[tuple] = []
    interactions: list[tuple] = []
    notes: list[tuple] = []
    for week in range(weeks):
        week_start = sim_start_s + week * WEEK_S
        week_end = week_start + WEEK_S
        satisfaction += b.reversion * (own_mean - satisfaction) + volatility * rng.normal(0, 1, n)
        staying = (joined_s < week_end) & np.isinf(decided_s)
        tenure_days = (week_start - joined_s) / DAY_S
        weekly = tenure_factor(tenure_days, b) * (
            b.background_hazard
            + b.caused_hazard * tenant_hazard * np.exp(-b.hazard_satisfaction_effect * satisfaction)
        )
        fires = staying & (rng.random(n) < -np.expm1(-weekly))
        present_from = np.maximum(week_start, joined_s)
        fire_at = present_from + rng.random(n) * (week_end - present_from)
        fades = fires & (tenure_days >= b.new_days) & (rng.random(n) < b.fade_share)
        fade_s = rng.integers(b.fade_weeks[0], b.fade_weeks[1] + 1, n) * WEEK_S
        decided_s[fires] = fire_at[fires]
        churn_s[fires] = np.where(fades, fire_at + fade_s, fire_at)[fires]
        faded |= fades

        # Only the loaded history has events; earlier weeks still age and thin the customers.
        # Billing runs over the whole life, since the lifetime value counts every payment.
        _bill(
            rng,
            b,
            week_end,
            bills,
            satisfaction,
            churn_s,
            next_payment_s,
            lifetime_payments,
            start_s,
            end_s,
            activities,
        )
        if week_end <= start_s:
            continue
        lo = np.maximum.reduce([np.full(n, week_start), joined_s, np.full(n, start_s)])
        hi = np.minimum.reduce([np.full(n, week_end), churn_s, np.full(n, end_s)])
        alive_share = np.clip((hi - lo) / WEEK_S, 0, 1)
        # A fading churner's activity thins linearly from its decision to its leaving.
        fading = np.flatnonzero(np.isfinite(decided_s) & (churn_s > decided_s))
        thinning = np.ones(n)
        thinning[fading] = np.clip(
            (churn_s[fading] - (lo[fading] + hi[fading]) / 2) / (churn_s[fading] - decided_s[fading]), 0, 1
        )
        weekly_rate = (
            rate
            * np.exp(b.activity_satisfaction_effect * satisfaction)
            * thinning
            * alive_share
            * rng.gamma(b.activity_burstiness, 1 / b.activity_burstiness, n)
        )
        owner = np.repeat(np.arange(n, dtype=np.int32), rng.poisson(weekly_rate))
        at = lo[owner] + rng.random(len(owner)) * (hi - lo)[owner]
        weights = mix[tenant_index[owner]] * np.exp(effects[None, :] * satisfaction[owner, None])
        codes = _categorical(rng, weights)
        downgrade = rng.random(len(owner)) < _logistic(
            _logit(b.downgrade_base) - b.downgrade_satisfaction_effect * satisfaction[owner]
        )
        activities.append((owner, at, codes, downgrade & (codes == _TYPE_CODE["TIER_CHANGED"])))

        interactions.append(
            _campaign_week(rng, b, lo, week_end, email_opt_in, open_propensity, satisfaction, churn_s, end_s)
        )
        notes.append(_notes_week(rng, b, keeps_notes, alive_share, lo, hi, satisfaction))

    noticed_s = np.where(
        np.isfinite(churn_s) & (rng.random(n) < b.noticed_share),
        churn_s + rng.uniform(*b.noticed_weeks, n) * WEEK_S,
        np.nan,
    )
    noticed_s[noticed_s >= end_s] = np.nan
    interaction_events = Events.gather(interactions)
    # Sends stop once the profile is INACTIVE; opens already stopped at churn.
    interaction_events = interaction_events.where(
        ~(interaction_events.at >= np.nan_to_num(noticed_s, nan=np.inf)[interaction_events.owner])
    )
    return HonestCrm(
        start_s=start_s,
        end_s=end_s,
        tenant_index=tenant_index,
        tenant_kinds=kinds,
        joined_s=joined_s,
        decided_s=decided_s,
        churn_s=churn_s,
        faded=faded,
        noticed_s=noticed_s,
        email_opt_in=email_opt_in,
        price=price,
        lifetime_payments=lifetime_payments,
        activities=Events.gather(activities),
        interactions=interaction_events,
        notes=Events.gather(notes),
    )


def _bill(
    rng,
    b: Behaviour,
    week_end,
    bills,
    satisfaction,
    churn_s,
    next_payment_s,
    lifetime_payments,
    start_s,
    end_s,
    activities: list,
) -> None:
    """Monthly payments due this week of customers still there: received, or failed and
    perhaps retried successfully a few days later. Events only inside the history."""
    due = bills & (next_payment_s < week_end) & (next_payment_s < churn_s) & (next_payment_s < end_s)
    at = next_payment_s[due]
    owner = np.flatnonzero(due).astype(np.int32)
    failure = _logistic(
        _logit(b.payment_failure_base) - b.payment_failure_satisfaction_effect * satisfaction[due]
    )
    failed = rng.random(len(owner)) < failure
    retry_at = at + rng.uniform(2, 5, len(owner)) * DAY_S
    retried = failed & (rng.random(len(owner)) < b.payment_retry_success)
    retried &= (retry_at < churn_s[owner]) & (retry_at < end_s)
    paid = ~failed | retried
    np.add.at(lifetime_payments, owner[paid], 1)
    next_payment_s[due] += PAYMENT_CYCLE_S
    owners = np.concatenate([owner, owner[retried]])
    times = np.concatenate([at, retry_at[retried]])
    codes = np.concatenate(
        [
            np.where(failed, _TYPE_CODE["PAYMENT_FAILED"], _TYPE_CODE["PAYMENT_RECEIVED"]),
            np.full(retried.sum(), _TYPE_CODE["PAYMENT_RECEIVED"]),
        ]
    )
    inside = times >= start_s
    activities.append((owners[inside], times[inside], codes[inside], np.zeros(inside.sum(), bool)))


def _campaign_week(
    rng, b: Behaviour, lo, week_end, email_opt_in, open_propensity, satisfaction, churn_s, end_s
) -> tuple:
    """Sends to opted-in customers (until the CRM sets them INACTIVE: filtered later); opens
    and clicks only from customers who have not left."""
    n = len(lo)
    span = np.clip(np.minimum(week_end, end_s) - lo, 0, None)
    sends = rng.poisson(b.sends_per_week * span / WEEK_S * email_opt_in)
    owner = np.repeat(np.arange(n, dtype=np.int32), sends)
    at = lo[owner] + rng.random(len(owner)) * span[owner]
    opened_at = at + rng.uniform(60, DAY_S, len(owner))
    opened = rng.random(len(owner)) < _logistic(
        open_propensity[owner] + b.open_satisfaction_effect * satisfaction[owner]
    )
    opened &= (opened_at < churn_s[owner]) & (opened_at < end_s)
    clicked = opened & (rng.random(len(owner)) < b.click_given_open)
    clicked &= (opened_at + 3_600 < churn_s[owner]) & (opened_at + 3_600 < end_s)
    return (
        np.concatenate([owner, owner[opened], owner[clicked]]),
        np.concatenate([at, opened_at[opened], opened_at[clicked] + 3_600]),
        np.concatenate([np.zeros(len(owner)), np.ones(opened.sum()), np.full(clicked.sum(), 2)]),
    )


def _notes_week(rng, b: Behaviour, keeps_notes, alive_share, lo, hi, satisfaction) -> tuple:
    weekly = b.notes_per_year / 52 * alive_share * keeps_notes
    complaints = rng.poisson(
        weekly * b.complaint_share * np.exp(-b.complaint_satisfaction_effect * satisfaction)
    )
    others = rng.poisson(weekly * (1 - b.complaint_share))
    owner = np.concatenate(
        [
            np.repeat(np.arange(len(lo), dtype=np.int32), complaints),
            np.repeat(np.arange(len(lo), dtype=np.int32), others),
        ]
    )
    codes = np.concatenate([np.zeros(complaints.sum()), rng.integers(1, 3, others.sum())])
    at = lo[owner] + rng.random(len(owner)) * (hi - lo)[owner]
    return owner, at, codes


def profiles(crm: HonestCrm, rng: np.random.Generator, b: Behaviour) -> pd.DataFrame:
    """Today's profile rows, as the CRM keeps them: status INACTIVE only once noticed, the
    lifetime value of every payment and purchase so far, the last email open, and updated_at
    the latest change of the row, always before the data's end."""
    n = len(crm.joined_s)
    acts = crm.activities
    value_event = np.isin(acts.code, [_TYPE_CODE[name] for name in _VALUE_TYPES])
    purchases = np.bincount(acts.owner[acts.code == _TYPE_CODE["PURCHASE"]], minlength=n)
    last_value_change = _last_per_owner(acts.owner[value_event], acts.at[value_event], n)
    opens = crm.interactions.code == 1
    last_open = _last_per_owner(crm.interactions.owner[opens], crm.interactions.at[opens], n)
    lifetime_value = crm.price * (crm.lifetime_payments + purchases)
    lifetime_value[rng.random(n) < b.unknown_lifetime_value_share] = np.nan
    updated = np.fmax.reduce([crm.joined_s, last_value_change, last_open, crm.noticed_s])
    return pd.DataFrame(
        {
            "id": customer_ids(n),
            "tenant_id": np.array(tenant_ids(len(crm.tenant_kinds)))[crm.tenant_index],
            "status": np.where(np.isnan(crm.noticed_s), "ACTIVE", "INACTIVE"),
            "deleted_at": None,
            "lifetime_value": lifetime_value,
            "email_opt_in": crm.email_opt_in,
            "sms_opt_in": rng.random(n) < 0.4,
            "push_opt_in": rng.random(n) < 0.3,
            "whatsapp_opt_in": rng.random(n) < 0.2,
            "last_email_open_at": iso_timestamps(last_open),
            "created_at": iso_timestamps(crm.joined_s),
            "updated_at": iso_timestamps(np.minimum(updated, crm.end_s - 1)),
        }
    )


def customer_ids(n: int) -> np.ndarray:
    return np.char.add("cus_", np.char.zfill(np.arange(1, n + 1).astype(str), 8))


def _activity_frames(crm: HonestCrm) -> Iterator[pd.DataFrame]:
    tenants = np.array(tenant_ids(len(crm.tenant_kinds)))[crm.tenant_index]
    ids = customer_ids(len(crm.joined_s))
    events = crm.activities
    for first in range(0, len(events.at), CHUNK_ROWS):
        part = slice(first, first + CHUNK_ROWS)
        owner, codes = events.owner[part], events.code[part]
        metadata = np.full(len(owner), None, dtype=object)
        tier = codes == _TYPE_CODE["TIER_CHANGED"]
        reasons = np.where(events.flag[part], "downgrade", "upgrade")
        metadata[tier] = [json.dumps({"reason": reason}) for reason in reasons[tier]]
        yield pd.DataFrame(
            {
                "id": np.char.add("act_", np.arange(first + 1, first + len(owner) + 1).astype(str)),
                "tenant_id": tenants[owner],
                "customer_id": ids[owner],
                "type": ACTIVITY_TYPES[codes],
                "occurred_at": iso_timestamps(events.at[part]),
                "metadata": metadata,
            }
        )


def _interaction_frames(crm: HonestCrm) -> Iterator[pd.DataFrame]:
    tenants = np.array(tenant_ids(len(crm.tenant_kinds)))[crm.tenant_index]
    ids = customer_ids(len(crm.joined_s))
    events = crm.interactions
    kinds = np.array(["SENT", "OPENED", "CLICKED"])
    for first in range(0, len(events.at), CHUNK_ROWS):
        part = slice(first, first + CHUNK_ROWS)
        owner, at = events.owner[part], events.at[part]
        yield pd.DataFrame(
            {
                "id": np.char.add("ci_", np.arange(first + 1, first + len(owner) + 1).astype(str)),
                "tenant_id": tenants[owner],
                "customer_id": ids[owner],
                "campaign_id": np.char.add("cmp_", (at // WEEK_S).astype(np.int64).astype(str)),
                "type": kinds[events.code[part]],
                "occurred_at": iso_timestamps(at),
            }
        )


def _note_frames(crm: HonestCrm) -> Iterator[pd.DataFrame]:
    tenants = np.array(tenant_ids(len(crm.tenant_kinds)))[crm.tenant_index]
    ids = customer_ids(len(crm.joined_s))
    events = crm.notes
    owner = events.owner
    yield pd.DataFrame(
        {
            "id": np.char.add("note_", np.arange(1, len(owner) + 1).astype(str)),
            "tenant_id": tenants[owner],
            "customer_id": ids[owner],
            "type": np.array(["COMPLAINT", "GENERAL", "CALL"])[events.code],
            "created_at": iso_timestamps(events.at),
            "body": "synthetic note",
        }
    )


def _mix_table(kinds: list[TenantKind]) -> np.ndarray:
    table = np.zeros((len(kinds), len(ACTIVITY_TYPES)))
    for row, kind in enumerate(kinds):
        for name, weight in kind.activity_weights.items():
            table[row, _TYPE_CODE[name]] = weight
    return table


def _categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of ``weights`` (rows need not sum to 1)."""
    cumulative = np.cumsum(weights, axis=1)
    draws = rng.random(len(weights)) * cumulative[:, -1]
    return (cumulative < draws[:, None]).sum(axis=1).astype(np.int8)


def _last_per_owner(owner: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    last = np.full(n, np.nan)
    np.fmax.at(last, owner, at)
    return last


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))
