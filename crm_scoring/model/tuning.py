"""Choosing the booster's settings without looking at the validation days.

The training days are split once more, out of time and H apart as in split.py: each candidate
is fitted on the older training days and judged (AUC) on the newest ones; the winner is then
fitted on all training days. The validation days stay unseen until the chosen model is judged
there, so its figures are not flattered by the choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from crm_scoring.model.estimators import BoosterSettings, GradientBoosting
from crm_scoring.model.metrics import auc
from crm_scoring.model.split import NotEnoughHistory, time_split


@dataclass(frozen=True)
class Tuning:
    """The chosen settings and how they were chosen (stored with the model)."""

    chosen: BoosterSettings
    record: Mapping[str, Any]


def tuned_booster(
    features: np.ndarray,
    churned: np.ndarray,
    days: Sequence[date],
    names: Sequence[str],
    *,
    base: BoosterSettings,
    candidates: Sequence[Mapping[str, Any]],
    horizon_days: int,
    inner_validation_day_count: int,
    seed: int,
) -> Tuning:
    """Of ``base`` changed by each of ``candidates``, the one whose model, fitted on the training
    rows of the older days, ranks the rows of the newest ``inner_validation_day_count`` days
    best (ties: the earlier candidate). The first candidate, saying why, when there is only one
    or the days cannot be split (too few, or one outcome on a side)."""
    settings = [replace(base, **change) for change in candidates] or [base]
    described = [dict(change) for change in candidates] or [{}]

    def untuned(why: str) -> Tuning:
        return Tuning(settings[0], {"candidates": described, "chosen": 0, "why": why})

    if len(settings) == 1:
        return untuned("one candidate")
    days = pd.Series(days)
    try:
        inner = time_split(
            days.unique(), horizon_days=horizon_days, validation_day_count=inner_validation_day_count
        )
    except NotEnoughHistory as error:
        return untuned(f"not tuned: {error}")
    fitted = days.isin(inner.training_days).to_numpy()
    judged = days.isin(inner.validation_days).to_numpy()
    if any(side.all() or not side.any() for side in (churned[fitted], churned[judged])):
        return untuned("not tuned: the inner split has one outcome on a side")
    aucs = [
        auc(
            GradientBoosting.fit(features[fitted], churned[fitted], names, candidate, seed).predict(
                features[judged]
            ),
            churned[judged],
        )
        for candidate in settings
    ]
    best = int(np.argmax(aucs))
    return Tuning(
        settings[best],
        {
            "candidates": described,
            "chosen": best,
            "inner_training_days": [day.isoformat() for day in inner.training_days],
            "inner_validation_days": [day.isoformat() for day in inner.validation_days],
            "inner_auc": [round(float(value), 4) for value in aucs],
        },
    )
