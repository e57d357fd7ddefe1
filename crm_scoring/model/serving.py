"""Which registry model predicts a (day, tenant), and the prediction rows it makes.

Point in time: a day's predictions are a function of the day and of registry entries that never
change once written, so a rerun picks the same model and writes the same rows. The rule
(model_for_day) is documented in docs/churn-model.md#daily-predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from crm_scoring.model.drivers import TOP_DRIVERS
from crm_scoring.model.training import ChurnModel

DRIVER_COLUMNS = [f"driver_{position}" for position in range(1, TOP_DRIVERS + 1)]
PREDICTION_COLUMNS = [
    "as_of_date",
    "tenant_id",
    "customer_id",
    "churn_probability",
    "churn_rank",
    "model_version",
    *DRIVER_COLUMNS,
]


@dataclass(frozen=True)
class RegistryEntry:
    """What the choice reads of one registry row serving the tenant (not the model itself)."""

    model_version: str
    trained: bool
    trained_at: datetime
    # The last day whose events its labels read: newest validation day + horizon (None: no model).
    learned_until: date | None
    reason: str


@dataclass(frozen=True)
class ModelChoice:
    model_version: str | None  # None: no predictions for the day, ``reason`` says why
    reason: str


def learned_until(validation_days: Sequence[date], horizon_days: int) -> date | None:
    """A label of day D reads the events of D + 1 … D + H, so a model validated up to day V learned
    from events up to V + H (its training days are older still)."""
    return max(validation_days) + timedelta(days=horizon_days) if validation_days else None


def model_for_day(entries: Sequence[RegistryEntry], day: date, day_end: datetime) -> ModelChoice:
    """The registry entry that predicts ``day`` (whose end is ``day_end``) for one tenant.

    A trained model may serve the day only if it learned from events up to the day at most
    (learned_until <= day): it knew nothing the day could not have known.

    1. The newest entry written by the end of the day (trained_at <= day_end), trained and
       allowed, or a "no model" entry: what the daily run after the day sees, fixed for ever
       after. A "no model" entry means no predictions, with its reason.
    2. Else (a backfilled day, older than the registry's first entry for the tenant): the
       earliest-trained allowed model; later trainings never displace it.
    3. Else none, saying why.
    """

    def allowed(entry: RegistryEntry) -> bool:
        return not entry.trained or (entry.learned_until is not None and entry.learned_until <= day)

    written_by_then = [e for e in entries if e.trained_at <= day_end and allowed(e)]
    if written_by_then:
        entry = max(written_by_then, key=lambda e: (e.trained_at, e.model_version))
        if entry.trained:
            return ModelChoice(entry.model_version, "the newest model written by the end of the day")
        return ModelChoice(None, f"{entry.reason} (registry entry {entry.model_version})")
    later = [e for e in entries if e.trained and allowed(e)]
    if later:
        entry = min(later, key=lambda e: (e.trained_at, e.model_version))
        return ModelChoice(
            entry.model_version,
            f"backfilled day: the first model trained after it on events up to {entry.learned_until}",
        )
    if not entries:
        return ModelChoice(None, "no model: no registry entry for the tenant (churn_model has not run)")
    trained = [e for e in entries if e.trained]
    if not trained:
        newest = max(entries, key=lambda e: (e.trained_at, e.model_version))
        return ModelChoice(None, f"{newest.reason} (registry entry {newest.model_version})")
    first = min(trained, key=lambda e: e.learned_until or date.max)
    return ModelChoice(
        None,
        f"no model learned only from events up to {day}: the earliest, {first.model_version}, "
        f"learned from events up to {first.learned_until}",
    )


def drivers_count(customers: int, top_percent: int) -> int:
    """How many of a tenant's top-ranked customers get drivers: ``top_percent`` of them, rounded up."""
    return math.ceil(customers * top_percent / 100)


def prediction_rows(
    model: ChurnModel, frame: pd.DataFrame, model_version: str, top_percent: int
) -> pd.DataFrame:
    """One tenant's predictions for one day from its training_frame rows: as_of_date, tenant_id,
    customer_id, churn_probability (calibrated), churn_rank (1 = highest risk; ties in the
    probability go to the higher raw score, then to the customer id that sorts first),
    model_version and, for the top drivers_count ranks only, driver_1..3 (None beyond them, or
    where fewer features push the risk up)."""
    if frame.empty:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    raw = model.raw_scores(frame)
    rows = frame[["as_of_date", "tenant_id", "customer_id"]].assign(
        churn_probability=model.calibration.apply(raw), raw_score=raw
    )
    rows = rows.sort_values(
        ["churn_probability", "raw_score", "customer_id"], ascending=[False, False, True], ignore_index=True
    )
    rows["churn_rank"] = np.arange(1, len(rows) + 1, dtype=np.int64)
    rows["model_version"] = model_version
    top = drivers_count(len(rows), top_percent)
    drivers = [[None] * TOP_DRIVERS for _ in range(len(rows))]
    if top:
        positions = pd.Index(frame["customer_id"]).get_indexer(rows["customer_id"].iloc[:top])
        for rank, phrases in enumerate(model.drivers(frame, positions)):
            drivers[rank] = [*phrases, *[None] * (TOP_DRIVERS - len(phrases))]
    rows[DRIVER_COLUMNS] = pd.DataFrame(drivers, columns=DRIVER_COLUMNS, dtype=object)
    return rows[PREDICTION_COLUMNS]
