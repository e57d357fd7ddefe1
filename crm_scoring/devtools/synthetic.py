"""Synthetic CRM data for the demo and the benchmark, loaded with COPY.

Vectorised with numpy: a size's customers and events are drawn as whole arrays, then
streamed to PostgreSQL in chunks. Tenants are skewed (a few big, many small) and some
customers' activity decays until they stop, so churn risk has something real to find.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text
from tqdm import tqdm

from crm_scoring.warehouse.schema import apply_ddl, secondary_indexes, source_ddl
from crm_scoring.warehouse.writes import copy_csv, frame_csv

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
CHUNK_ROWS = 500_000
DECAY_DAYS = 120


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
        customers["profiles"],
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
    profiles: pd.DataFrame,
    *,
    activities: Iterable[pd.DataFrame],
    interactions: Iterable[pd.DataFrame],
    notes: Iterable[pd.DataFrame],
    replace: bool,
    progress: bool,
) -> GeneratedCounts:
    """COPYs generated rows into the four source tables (the source contract's columns), then
    recreates their indexes and refreshes the planner's statistics. ``replace`` empties them first."""
    if replace:
        # Loading into empty tables and indexing afterwards is several times faster than
        # maintaining the secondary indexes row by row.
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"truncate {schema}.customer_profiles, {schema}.activities, "
                    f"{schema}.campaign_interactions, {schema}.customer_notes"
                )
            )
            for index in secondary_indexes(source_ddl(schema)):
                connection.execute(text(f"drop index if exists {schema}.{index}"))
    bar = tqdm(desc="rows loaded", unit=" rows", unit_scale=True, disable=not progress)
    with bar:
        _copy(engine, f"{schema}.customer_profiles", [profiles], bar)
        activity_rows = _copy(engine, f"{schema}.activities", activities, bar)
        interaction_rows = _copy(engine, f"{schema}.campaign_interactions", interactions, bar)
        note_rows = _copy(engine, f"{schema}.customer_notes", notes, bar)
    apply_ddl(engine, source_ddl(schema))  # recreates any index dropped above
    with engine.begin() as connection:
        for table in ("customer_profiles", "activities", "campaign_interactions", "customer_notes"):
            connection.execute(text(f"analyze {schema}.{table}"))
    return GeneratedCounts(len(profiles), activity_rows, interaction_rows, note_rows)


def _customers(rng: np.random.Generator, size: Size, start_s: float, end_s: float) -> dict:
    n = size.customers
    tenant_weights = 1.0 / np.arange(1, size.tenants + 1) ** 1.1
    tenant_index = rng.choice(size.tenants, size=n, p=tenant_weights / tenant_weights.sum())
    ids = np.char.add("cus_", np.char.zfill(np.arange(1, n + 1).astype(str), 8))
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
    profiles = pd.DataFrame(
        {
            "id": ids,
            "tenant_id": np.array(tenant_ids(size.tenants))[tenant_index],
            "status": rng.choice(STATUSES, size=n, p=STATUS_WEIGHTS),
            "deleted_at": iso_timestamps(np.where(rng.random(n) < 0.02, end_s - 86_400, np.nan)),
            "lifetime_value": np.where(rng.random(n) < 0.05, np.nan, np.round(rng.lognormal(9.5, 1.3, n))),
            "email_opt_in": rng.random(n) < 0.7,
            "sms_opt_in": rng.random(n) < 0.4,
            "push_opt_in": rng.random(n) < 0.3,
            "whatsapp_opt_in": rng.random(n) < 0.2,
            "last_email_open_at": iso_timestamps(np.where(rng.random(n) < 0.2, np.nan, last_open)),
            "created_at": iso_timestamps(joined_s),
        }
    )
    _profile_changes(rng, profiles, joined_s, active_from, churner, stop_s, end_s)
    return {
        "profiles": profiles,
        "rate": rate,
        "churner": churner,
        "distressed": distressed,
        "stop_s": stop_s,
        "start_s": active_from,
        "end_s": end_s,
    }


def _profile_changes(
    rng: np.random.Generator,
    profiles: pd.DataFrame,
    joined_s: np.ndarray,
    active_from: np.ndarray,
    churner: np.ndarray,
    stop_s: np.ndarray,
    end_s: float,
) -> None:
    """Status and updated_at as a CRM leaves them: most churners are set INACTIVE one to eight
    weeks after they stop (when someone notices), other statuses were set at some point of the
    customer's life, and updated_at is the latest change of the row, always before ``end``.
    Drawn after everything else, so a seed's events are those it always gave."""
    n = len(profiles)
    noticed_s = stop_s + rng.uniform(7, 60, n) * 86_400
    set_inactive = churner & (rng.random(n) < 0.6) & (noticed_s < end_s - 1)
    status_set_s = np.where(set_inactive, noticed_s, rng.uniform(active_from, end_s - 1))
    profiles.loc[set_inactive, "status"] = "INACTIVE"
    changed = np.where(profiles["status"].to_numpy() != "ACTIVE", status_set_s, np.nan)
    epoch = pd.Timestamp(0, tz="UTC")
    times = [joined_s, changed] + [
        (pd.to_datetime(profiles[column], utc=True) - epoch).dt.total_seconds().to_numpy()  # NaN: none
        for column in ("deleted_at", "last_email_open_at")
    ]
    profiles["updated_at"] = iso_timestamps(np.minimum(np.fmax.reduce(times), end_s - 1))


def _activities(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    span_days = np.maximum(customers["stop_s"] - customers["start_s"], 0) / 86_400
    counts = rng.poisson(customers["rate"] * span_days)
    yield _failed_payments(rng, customers)
    yield from _events(
        rng,
        customers,
        counts,
        prefix="act_",
        build=lambda owner, at, n: pd.DataFrame(
            {
                "tenant_id": customers["profiles"]["tenant_id"].to_numpy()[owner],
                "customer_id": customers["profiles"]["id"].to_numpy()[owner],
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
    profiles = customers["profiles"]
    return pd.DataFrame(
        {
            "id": np.char.add("act_pf_", np.arange(1, n + 1).astype(str)),
            "tenant_id": profiles["tenant_id"].to_numpy()[owner],
            "customer_id": profiles["id"].to_numpy()[owner],
            "type": "PAYMENT_FAILED",
            "occurred_at": iso_timestamps(customers["stop_s"][owner] - rng.uniform(0, 3, n) * 86_400),
            "metadata": None,
        }
    )


def _interactions(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    span_days = np.maximum(customers["stop_s"] - customers["start_s"], 0) / 86_400
    sends = rng.poisson(size.campaign_sends_per_customer * span_days / size.history_days)
    # One SENT per send; OPENED for ~45% of sends; CLICKED for ~35% of opens.
    yield from _events(
        rng,
        customers,
        sends,
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
            "tenant_id": customers["profiles"]["tenant_id"].to_numpy()[owners],
            "customer_id": customers["profiles"]["id"].to_numpy()[owners],
            "campaign_id": np.char.add("cmp_", (times // (7 * 86_400)).astype(np.int64).astype(str)),
            "type": kinds,
            "occurred_at": iso_timestamps(times),
        }
    )


def _notes(rng: np.random.Generator, customers: dict, size: Size) -> Iterator[pd.DataFrame]:
    profiles = customers["profiles"]
    # Churners complain more: the complaint component should carry signal.
    rate = (
        np.select([customers["distressed"], customers["churner"]], [8.0, 2.5], 0.6) * size.notes_per_customer
    )
    counts = rng.poisson(rate)
    owner = np.repeat(np.arange(len(profiles)), counts)
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
    yield pd.DataFrame(
        {
            "id": np.char.add("note_", np.arange(1, n + 1).astype(str)),
            "tenant_id": profiles["tenant_id"].to_numpy()[owner],
            "customer_id": profiles["id"].to_numpy()[owner],
            "type": np.where(
                recent,
                "COMPLAINT",
                rng.choice(np.array(["COMPLAINT", "GENERAL", "CALL"]), size=n, p=[0.4, 0.4, 0.2]),
            ),
            "created_at": iso_timestamps(at),
            "body": "synthetic note",
        }
    )


def _events(rng, customers: dict, counts: np.ndarray, *, prefix: str, build) -> Iterator[pd.DataFrame]:
    """Draws event times per customer and yields them in time order, as a CRM appends them.

    Time order matters for realism: PostgreSQL then finds a day's or a window's events in
    neighbouring pages, as it would in a production table.
    """
    owner = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    start = customers["start_s"][owner]
    stop = customers["stop_s"][owner]
    # Churners keep their pace until DECAY_DAYS before they stop, then thin out linearly to
    # nothing (1 - sqrt(1 - u) over the decay): the decline a churn score can see coming. An
    # event falls in the decay with the decay's share of the expected count (half its length).
    span = np.maximum(stop - start, 0)
    decay = np.where(customers["churner"][owner], np.minimum(span, DECAY_DAYS * 86_400), 0)
    steady = span - decay
    in_decay = rng.random(len(owner)) * (steady + decay / 2) >= steady
    u = rng.random(len(owner))
    at = np.where(in_decay, start + steady + (1 - np.sqrt(1 - u)) * decay, start + u * steady)
    order = np.argsort(at, kind="stable")
    owner, at = owner[order], at[order]
    next_id = 1
    for first in range(0, len(owner), CHUNK_ROWS):
        chunk_owner, chunk_at = owner[first : first + CHUNK_ROWS], at[first : first + CHUNK_ROWS]
        frame = build(chunk_owner, chunk_at, len(chunk_owner))
        frame.insert(0, "id", np.char.add(prefix, np.arange(next_id, next_id + len(frame)).astype(str)))
        next_id += len(frame)
        yield frame


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
        with raw.cursor() as cursor, ThreadPoolExecutor(max_workers=1) as sender:
            sending: Future | None = None
            for frame in frames:
                rows = frame_csv(frame)
                if sending is not None:
                    sending.result()  # one chunk in flight at most; a failed COPY raises here
                sending = sender.submit(copy_csv, cursor, table, rows)
                loaded += rows.count
                sending.add_done_callback(lambda _, count=rows.count: bar.update(count))
            if sending is not None:
                sending.result()
        raw.commit()
    finally:
        raw.close()
    return loaded
