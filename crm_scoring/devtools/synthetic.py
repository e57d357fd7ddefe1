"""Synthetic CRM data for the demo and the benchmark, loaded with COPY.

Vectorised with numpy: a size's customers are drawn as whole arrays, their events a week of
history at a time, streamed to PostgreSQL in chunks. Tenants are skewed (a few big, many small) and some
customers' activity decays until they stop, so churn risk has something real to find.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text
from tqdm import tqdm

from crm_scoring.warehouse.schema import apply_ddl, secondary_indexes, source_ddl
from crm_scoring.warehouse.writes import overlapped_copy

ACTIVITY_TYPES = np.array(
    [
        "PAGE_VIEW",
        "LOGIN",
        "PURCHASE",
        "EMAIL_CLICK",
        "SUPPORT_TICKET",
        "PAYMENT_RECEIVED",
        "PAYMENT_FAILED",
        "TIER_CHANGED",
    ]
)
ACTIVITY_WEIGHTS = np.array([0.40, 0.22, 0.12, 0.10, 0.04, 0.08, 0.025, 0.015])
STATUSES = np.array(["ACTIVE", "INACTIVE", "MERGED", "PROSPECT"])
STATUS_WEIGHTS = np.array([0.86, 0.09, 0.03, 0.02])
_ACTIVE, _INACTIVE = 0, 1  # indexes into STATUSES
SOURCE_TABLES = ("customer_profiles", "activities", "campaign_interactions", "customer_notes")
CHUNK_ROWS = 500_000
DECAY_DAYS = 120
WEEK_S = 7 * 86_400


@dataclass(frozen=True)
class Size:
    tenants: int
    customers: int
    activities_per_customer: float
    campaign_sends_per_customer: float
    notes_per_customer: float
    history_days: int


SIZES = {
    "demo": Size(4, 1_200, 30, 10, 0.35, 365),
    "small": Size(10, 10_000, 32, 10, 0.35, 365),
    "medium": Size(25, 100_000, 32, 10, 0.35, 365),
    "large": Size(50, 1_000_000, 32, 10.5, 0.35, 365),
    "xlarge": Size(50, 5_000_000, 32, 10.5, 0.35, 365),
}


@dataclass(frozen=True)
class GeneratedCounts:
    customer_profiles: int
    activities: int
    campaign_interactions: int
    customer_notes: int


def tenant_ids(count: int) -> list[str]:
    return [f"tenant-{index:03d}" for index in range(1, count + 1)]


def generate(
    engine: Engine,
    schema: str,
    size: Size,
    *,
    end: datetime,
    seed: int = 7,
    replace: bool = False,
    progress: bool = True,
) -> GeneratedCounts:
    """Loads ``size`` worth of data whose history ends at ``end`` (an aware datetime)."""
    rng = np.random.default_rng(seed)
    end_s = end.timestamp()
    start_s = end_s - size.history_days * 86_400
    customers = _customers(rng, size, start_s, end_s)
    return load_source_tables(
        engine,
        schema,
        _profile_frames(customers),
        # Generators: each table's events are drawn while the one before is loaded, in this order.
        activities=_activities(rng, customers, size),
        interactions=_interactions(rng, customers, size),
        notes=_notes(rng, customers, size),
        replace=replace,
        progress=progress,
    )


def load_source_tables(
    engine: Engine,
    schema: str,
    profiles: Iterable[pd.DataFrame],
    *,
    activities: Iterable[pd.DataFrame],
    interactions: Iterable[pd.DataFrame],
    notes: Iterable[pd.DataFrame],
    replace: bool,
    progress: bool,
) -> GeneratedCounts:
    """COPYs generated rows into the four source tables (the source contract's columns), then
    recreates their indexes and refreshes the planner's statistics. ``replace`` empties them first."""
    tables = [f"{schema}.{table}" for table in SOURCE_TABLES]
    with engine.begin() as connection:
        if replace:
            connection.execute(text(f"truncate {', '.join(tables)}"))
        if replace or not any(
            connection.execute(text(f"select exists (select from {table})")).scalar_one() for table in tables
        ):
            # Loading into empty tables and indexing afterwards is several times faster than
            # maintaining the secondary indexes row by row: at `large`, 254 s in all; with the
            # indexes kept, 38M of the 43M rows after 8 minutes, at a rate falling as they grew.
            for index in secondary_indexes(source_ddl(schema)):
                connection.execute(text(f"drop index if exists {schema}.{index}"))
    bar = tqdm(desc="rows loaded", unit=" rows", unit_scale=True, disable=not progress)
    with bar:
        profile_rows = _copy(engine, f"{schema}.customer_profiles", profiles, bar)
        activity_rows = _copy(engine, f"{schema}.activities", activities, bar)
        interaction_rows = _copy(engine, f"{schema}.campaign_interactions", interactions, bar)
        note_rows = _copy(engine, f"{schema}.customer_notes", notes, bar)
    apply_ddl(engine, source_ddl(schema))  # recreates any index dropped above
    with engine.begin() as connection:
        for table in tables:
            connection.execute(text(f"analyze {table}"))
    return GeneratedCounts(profile_rows, activity_rows, interaction_rows, note_rows)


def _customers(rng: np.random.Generator, size: Size, start_s: float, end_s: float) -> dict:
    """The customers as arrays: what their events are drawn from, and their profile fields
    (numbers, formatted a block at a time by _profile_frames)."""
    n = size.customers
    tenant_weights = 1.0 / np.arange(1, size.tenants + 1) ** 1.1
    tenant_index = rng.choice(size.tenants, size=n, p=tenant_weights / tenant_weights.sum())
    # Activity per day, log-normal; a third of customers decay towards zero and stop.
    rate = rng.lognormal(mean=np.log(size.activities_per_customer / 365), sigma=0.9, size=n)
    churner = rng.random(n) < 0.3
    joined_s = rng.uniform(start_s - 365 * 86_400, end_s - 5 * 86_400, n)
    active_from = np.maximum(joined_s, start_s)
    stop_s = np.where(churner, rng.uniform(active_from, end_s), end_s)
    # A few churners are in acute distress: gone quiet after failed payments, and complaining
    # since; the pattern a churn alert exists for (from 61 to about 88 days after they stop).
    # Their stops spread over the last 9-21 weeks, so that yesterday and the churn backtest's
    # day 60 days earlier (CRM_SCORING_CHURN_HORIZON_DAYS) both find some in that state.
    distressed = churner & (rng.random(n) < 0.2)
    stop_s = np.where(distressed, end_s - rng.uniform(62, 150, n) * 86_400, stop_s)
    stop_s = np.maximum(stop_s, active_from)
    last_open = np.minimum(end_s, stop_s) - rng.exponential(20 * 86_400, n)
    fields = {
        "status": rng.choice(len(STATUSES), size=n, p=STATUS_WEIGHTS),
        "deleted_s": np.where(rng.random(n) < 0.02, end_s - 86_400, np.nan),
        "lifetime_value": np.where(rng.random(n) < 0.05, np.nan, np.round(rng.lognormal(9.5, 1.3, n))),
        "email_opt_in": rng.random(n) < 0.7,
        "sms_opt_in": rng.random(n) < 0.4,
        "push_opt_in": rng.random(n) < 0.3,
        "whatsapp_opt_in": rng.random(n) < 0.2,
        "last_email_open_s": np.where(rng.random(n) < 0.2, np.nan, last_open),
        "created_s": joined_s,
    }
    _profile_changes(rng, fields, active_from, churner, stop_s, end_s)
    return {
        "id": np.char.add("cus_", np.char.zfill(np.arange(1, n + 1).astype(str), 8)),
        "tenant_id": np.array(tenant_ids(size.tenants))[tenant_index],
        "profile_fields": fields,
        "rate": rate,
        "churner": churner,
        "distressed": distressed,
        "stop_s": stop_s,
        "start_s": active_from,
        "end_s": end_s,
    }


def _profile_changes(
    rng: np.random.Generator,
    fields: dict[str, np.ndarray],
    active_from: np.ndarray,
    churner: np.ndarray,
    stop_s: np.ndarray,
    end_s: float,
) -> None:
    """Status and updated_at as a CRM leaves them: most churners are set INACTIVE one to eight
    weeks after they stop (when someone notices), other statuses were set at some point of the
    customer's life, and updated_at is the latest change of the row, always before ``end``."""
    n = len(stop_s)
    noticed_s = stop_s + rng.uniform(7, 60, n) * 86_400
    set_inactive = churner & (rng.random(n) < 0.6) & (noticed_s < end_s - 1)
    status_set_s = np.where(set_inactive, noticed_s, rng.uniform(active_from, end_s - 1))
    fields["status"][set_inactive] = _INACTIVE
    changed = np.where(fields["status"] != _ACTIVE, status_set_s, np.nan)
    latest = np.fmax.reduce([fields["created_s"], changed, fields["deleted_s"], fields["last_email_open_s"]])
    fields["updated_s"] = np.minimum(latest, end_s - 1)  # NaN (none) is ignored by fmax


def _profile_frames(customers: dict) -> Iterator[pd.DataFrame]:
    fields = customers["profile_fields"]
    for first in range(0, len(customers["id"]), CHUNK_ROWS):
        block = slice(first, first + CHUNK_ROWS)
        yield pd.DataFrame(
            {
                "id": customers["id"][block],
                "tenant_id": customers["tenant_id"][block],
                "status": STATUSES[fields["status"][block]],
                "deleted_at": iso_timestamps(fields["deleted_s"][block]),
                "lifetime_value": fields["lifetime_value"][block],
                **{
                    channel: fields[channel][block]
                    for channel in ("email_opt_in", "sms_opt_in", "push_opt_in", "whatsapp_opt_in")
                },
                "last_email_open_at": iso_timestamps(fields["last_email_open_s"][block]),
                "created_at": iso_timestamps(fields["created_s"][block]),
                "updated_at": iso_timestamps(fields["updated_s"][block]),
            }
        )


def _activities(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    span_days = np.maximum(customers["stop_s"] - customers["start_s"], 0) / 86_400
    yield _failed_payments(rng, customers)
    yield from _events(
        rng,
        customers,
        customers["rate"] * span_days,
        prefix="act_",
        build=lambda owner, at, n: pd.DataFrame(
            {
                "tenant_id": customers["tenant_id"][owner],
                "customer_id": customers["id"][owner],
                "type": (types := rng.choice(ACTIVITY_TYPES, size=n, p=ACTIVITY_WEIGHTS)),
                "occurred_at": iso_timestamps(at),
                "metadata": _tier_metadata(rng, types),
            }
        ),
    )


def _failed_payments(rng: np.random.Generator, customers: dict) -> pd.DataFrame:
    """Billing retries for distressed customers: 3-5 PAYMENT_FAILED in the days before they left."""
    counts = rng.integers(3, 6, customers["distressed"].sum())
    owner = np.repeat(np.flatnonzero(customers["distressed"]), counts)
    n = len(owner)
    return pd.DataFrame(
        {
            "id": np.char.add("act_pf_", np.arange(1, n + 1).astype(str)),
            "tenant_id": customers["tenant_id"][owner],
            "customer_id": customers["id"][owner],
            "type": "PAYMENT_FAILED",
            "occurred_at": iso_timestamps(customers["stop_s"][owner] - rng.uniform(0, 3, n) * 86_400),
            "metadata": None,
        }
    )


def _interactions(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    span_days = np.maximum(customers["stop_s"] - customers["start_s"], 0) / 86_400
    # One SENT per send; OPENED for ~45% of sends; CLICKED for ~35% of opens.
    yield from _events(
        rng,
        customers,
        size.campaign_sends_per_customer * span_days / size.history_days,
        prefix="ci_",
        build=lambda owner, at, n: _campaign_rows(rng, customers, owner, at, n),
    )


def _campaign_rows(
    rng: np.random.Generator, customers: dict, owner: np.ndarray, at: np.ndarray, n: int
) -> pd.DataFrame:
    opened = rng.random(n) < 0.45
    clicked = opened & (rng.random(n) < 0.35)
    owners = np.concatenate([owner, owner[opened], owner[clicked]])
    times = np.concatenate([at, at[opened] + rng.uniform(60, 86_400, opened.sum()), at[clicked] + 3_600])
    kinds = np.concatenate(
        [np.full(n, "SENT"), np.full(opened.sum(), "OPENED"), np.full(clicked.sum(), "CLICKED")]
    )
    return pd.DataFrame(
        {
            "tenant_id": customers["tenant_id"][owners],
            "customer_id": customers["id"][owners],
            "campaign_id": np.char.add("cmp_", (times // (7 * 86_400)).astype(np.int64).astype(str)),
            "type": kinds,
            "occurred_at": iso_timestamps(times),
        }
    )


def _notes(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    # Churners complain more: the complaint component should carry signal.
    rate = (
        np.select([customers["distressed"], customers["churner"]], [8.0, 2.5], 0.6) * size.notes_per_customer
    )
    counts = rng.poisson(rate)
    owner = np.repeat(np.arange(len(counts)), counts)
    n = len(owner)
    # Distressed customers' notes fall in the 60 days after they stop; others' over their active life.
    recent = customers["distressed"][owner]
    at = np.where(
        recent,
        customers["stop_s"][owner] + rng.uniform(1, 60, n) * 86_400,
        rng.uniform(
            customers["start_s"][owner],
            np.minimum(customers["stop_s"][owner] + 86_400 * 7, customers["end_s"]),
        ),
    )
    kinds = np.where(
        recent,
        "COMPLAINT",
        rng.choice(np.array(["COMPLAINT", "GENERAL", "CALL"]), size=n, p=[0.4, 0.4, 0.2]),
    )
    for first in range(0, n, CHUNK_ROWS):
        block = slice(first, first + CHUNK_ROWS)
        yield pd.DataFrame(
            {
                "id": np.char.add("note_", np.arange(first + 1, first + 1 + len(owner[block])).astype(str)),
                "tenant_id": customers["tenant_id"][owner[block]],
                "customer_id": customers["id"][owner[block]],
                "type": kinds[block],
                "created_at": iso_timestamps(at[block]),
                "body": "synthetic note",
            }
        )


def _events(rng, customers: dict, expected: np.ndarray, *, prefix: str, build) -> Iterator[pd.DataFrame]:
    """Draws each customer's events (``expected`` of them on average) and yields them in time
    order, as a CRM appends them, one week of history at a time.

    Time order matters for realism: PostgreSQL then finds a day's or a window's events in
    neighbouring pages, as it would in a production table. A week at a time keeps memory flat
    in the size: a customer's events are a Poisson process, so its count in each week is an
    independent Poisson draw of the week's share of its expected count, and the times within
    the week follow the same density as over the whole span.

    Churners keep their pace until DECAY_DAYS before they stop, then thin out linearly to
    nothing: the decline a churn score can see coming. The density is flat over the steady part
    of the span and falls linearly to 0 over the decay; its integral is steady + decay / 2.
    """
    start, stop = customers["start_s"], customers["stop_s"]
    span = np.maximum(stop - start, 0)
    decay = np.where(customers["churner"], np.minimum(span, DECAY_DAYS * 86_400), 0)
    steady = span - decay
    # Expected events per second of the flat part (0 for an empty span).
    density = np.divide(expected, steady + decay / 2, out=np.zeros(len(span)), where=span > 0)
    first_s = float(start.min(initial=customers["end_s"]))
    next_id = 1
    for week_start in np.arange(first_s, customers["end_s"], WEEK_S):
        week_end = min(week_start + WEEK_S, customers["end_s"])
        active = np.flatnonzero((start < week_end) & (stop > week_start) & (density > 0))
        owner, at = _week_of_events(
            rng, active, week_start, week_end, start[active], steady[active], decay[active], density[active]
        )
        order = np.argsort(at, kind="stable")
        owner, at = owner[order], at[order]
        for first in range(0, len(owner), CHUNK_ROWS):
            chunk_owner, chunk_at = owner[first : first + CHUNK_ROWS], at[first : first + CHUNK_ROWS]
            frame = build(chunk_owner, chunk_at, len(chunk_owner))
            frame.insert(0, "id", np.char.add(prefix, np.arange(next_id, next_id + len(frame)).astype(str)))
            next_id += len(frame)
            yield frame


def _week_of_events(
    rng: np.random.Generator,
    customer: np.ndarray,
    week_start: float,
    week_end: float,
    start: np.ndarray,
    steady: np.ndarray,
    decay: np.ndarray,
    density: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The events of [week_start, week_end) of the given customers: (customer, time) arrays."""
    # The flat part [start, start + steady] within the week: a uniform time in it.
    flat_from = np.maximum(start, week_start)
    flat_to = np.minimum(start + steady, week_end)
    flat_length = np.maximum(flat_to - flat_from, 0)
    flat_count = rng.poisson(density * flat_length)
    # The decay (start + steady, stop] within the week, as u in [0, 1] along it; the density
    # there is density * (1 - u), whose integral from u to 1 is decay * (1 - u)^2 / 2.
    with np.errstate(divide="ignore", invalid="ignore"):
        decay_start = start + steady
        u_from = np.clip((week_start - decay_start) / decay, 0, 1)
        u_to = np.clip((week_end - decay_start) / decay, 0, 1)
    u_from, u_to = np.nan_to_num(u_from), np.nan_to_num(u_to)  # no decay: an empty range
    left_from, left_to = (1 - u_from) ** 2, (1 - u_to) ** 2
    decay_count = rng.poisson(density * decay * (left_from - left_to) / 2)

    flat_owner = np.repeat(np.arange(len(customer)), flat_count)
    flat_at = flat_from[flat_owner] + rng.random(len(flat_owner)) * flat_length[flat_owner]
    decay_owner = np.repeat(np.arange(len(customer)), decay_count)
    # Inverse of the decay's distribution function between u_from and u_to.
    share = rng.random(len(decay_owner))
    left = left_from[decay_owner] - share * (left_from[decay_owner] - left_to[decay_owner])
    decay_at = decay_start[decay_owner] + (1 - np.sqrt(left)) * decay[decay_owner]
    owners = np.concatenate([flat_owner, decay_owner])
    return customer[owners], np.concatenate([flat_at, decay_at])


def _tier_metadata(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    reasons = rng.choice(np.array(["downgrade", "upgrade"]), size=len(types), p=[0.4, 0.6])
    metadata = np.full(len(types), None, dtype=object)
    tier = types == "TIER_CHANGED"
    metadata[tier] = [json.dumps({"reason": reason}) for reason in reasons[tier]]
    return metadata


def iso_timestamps(epoch_seconds: np.ndarray) -> np.ndarray:
    """ISO text in UTC, millisecond precision, None for NaN: formatted by numpy, not pandas."""
    seconds = np.asarray(epoch_seconds, dtype=np.float64)
    millis = np.floor(np.nan_to_num(seconds) * 1000).astype("datetime64[ms]")
    text = np.char.add(np.datetime_as_string(millis, unit="ms"), "Z").astype(object)
    text[np.isnan(seconds)] = None
    return text


def _copy(engine: Engine, table: str, frames: Iterable[pd.DataFrame], bar: tqdm) -> int:
    """COPYs the frames in one transaction. A thread sends each chunk while this one draws and
    formats the next: the server's parsing and the client's formatting overlap on two cores."""
    loaded = 0
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, overlapped_copy(cursor, table) as send:
            for frame in frames:
                count, sent = len(frame), send(frame)
                if sent is not None:
                    sent.add_done_callback(lambda _, count=count: bar.update(count))
                loaded += count
        raw.commit()
    finally:
        raw.close()
    return loaded
