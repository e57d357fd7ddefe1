"""Out-of-time split: train on older labelled days, validate on the newest.

A day D's label looks at (D, D + H]: a training day closer than H days before the first
validation day would have its label read the same weeks whose churn the validation judges
(the same customers' future). So the last training day is at least H days before the first
validation day, and the days in between are used for neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


class NotEnoughHistory(ValueError):
    """The labelled days cannot make a training range and a validation range H days apart."""


@dataclass(frozen=True)
class TimeSplit:
    training_days: tuple[date, ...]
    validation_days: tuple[date, ...]
    horizon_days: int

    @property
    def gap_days(self) -> int:
        return (self.validation_days[0] - self.training_days[-1]).days


def time_split(days: Iterable[date], *, horizon_days: int, validation_day_count: int) -> TimeSplit:
    """The newest ``validation_day_count`` labelled days validate; every day at least
    ``horizon_days`` before the first of them trains."""
    if horizon_days < 1 or validation_day_count < 1:
        raise ValueError("horizon_days and validation_day_count must be at least 1")
    labelled = sorted(set(days))
    if len(labelled) < validation_day_count + 1:
        raise NotEnoughHistory(
            f"{len(labelled)} labelled day(s): at least {validation_day_count + 1} are needed "
            f"({validation_day_count} to validate, older ones to train)"
        )
    validation = tuple(labelled[-validation_day_count:])
    last_training = validation[0] - timedelta(days=horizon_days)
    training = tuple(day for day in labelled if day <= last_training)
    if not training:
        raise NotEnoughHistory(
            f"no labelled day on or before {last_training.isoformat()}: training days must end "
            f"{horizon_days} days (the horizon) before the first validation day "
            f"{validation[0].isoformat()}"
        )
    return TimeSplit(training_days=training, validation_days=validation, horizon_days=horizon_days)


def labelled_month_ends(observed_until: date, *, horizon_days: int, count: int) -> list[date]:
    """The newest ``count`` month-ends whose whole horizon has passed by the end of
    ``observed_until``, oldest first.

    Day D is scored as of the end of D, so its label window closes at the end of D + H; it is
    labelled when D + H <= observed_until.
    """
    newest = observed_until - timedelta(days=horizon_days)
    days: list[date] = []
    month_start = newest.replace(day=1) + timedelta(days=32)
    while len(days) < count:
        month_start = month_start.replace(day=1)
        month_end = month_start - timedelta(days=1)
        if month_end <= newest:
            days.append(month_end)
        month_start = month_end
    return days[::-1]
