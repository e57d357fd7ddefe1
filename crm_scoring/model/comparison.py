"""The specification's score against the learned model, out of time, on one tenant-day: the
same customers, the same labels, the same figures (model/metrics.py) for both. Pure.

What each scorer is judged by: ranking figures read the rule's churn_risk_score and the model's
churn_rank (the order its alerts follow: probability, then raw score, then customer_id);
probability figures read the model's stored churn_probability and, for the rule, which is no
probability, its score calibrated by cross-fitting on the day's own customers (as the registry
does on the validation days: estimators.cross_fitted_calibration), which if anything flatters
the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from crm_scoring.model.estimators import cross_fitted_calibration
from crm_scoring.model.metrics import FIGURES, Estimate, evaluate
from crm_scoring.model.serving import learned_until

RULE, MODEL = "rule", "model"
SCORERS = (RULE, MODEL)
COMPARISON_COLUMNS = ["customer_id", "churned", "churn_risk_score", "churn_probability", "churn_rank"]
_PARTS = (("", "value"), ("_low", "low"), ("_high", "high"))
FIGURE_COLUMNS = [f"{name}{suffix}" for name in FIGURES for suffix, _ in _PARTS]
# The reliability diagram's bins: the ECE's ten equal-width bins.
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class Comparison:
    """One tenant-day: both scorers' figures and what the charts draw."""

    customers: int
    churned: int
    figures: dict[str, dict[str, Estimate]]  # {scorer: {figure: estimate}}
    ranking: dict[str, np.ndarray]  # {scorer: higher = riskier}
    probabilities: dict[str, np.ndarray]
    outcomes: np.ndarray


def in_sample_reason(
    day: date, training_days: Sequence[date], validation_days: Sequence[date], horizon_days: int
) -> str | None:
    """Why a model's predictions of ``day`` may not be judged as out of time, or None when they
    may: the day must come after every day the model trained or validated on, and after the
    last event their labels read (newest validation day + horizon)."""
    seen = [*training_days, *validation_days]
    if seen and day <= max(seen):
        return f"{day} is not after the model's training and validation days (up to {max(seen)})"
    until = learned_until(validation_days, horizon_days)
    if until is not None and day < until:
        return f"the model learned from events up to {until}, after {day}: in sample, not reported"
    return None


def compare(
    rows: pd.DataFrame, *, budget_fraction: float, replicates: int = 200, seed: int = 7, folds: int = 5
) -> Comparison:
    """Both scorers on ``rows`` (COMPARISON_COLUMNS, one per customer)."""
    churned = rows["churned"].to_numpy(dtype=bool)
    customers = rows["customer_id"].to_numpy(dtype=object)
    rule = rows["churn_risk_score"].to_numpy(dtype=np.float64)
    ranking = {RULE: rule, MODEL: -rows["churn_rank"].to_numpy(dtype=np.float64)}
    probabilities = {
        RULE: cross_fitted_calibration(rule, churned, customers, folds=folds, seed=seed)
        if len(rows)
        else np.empty(0),
        MODEL: rows["churn_probability"].to_numpy(dtype=np.float64),
    }
    figures = {
        scorer: evaluate(
            ranking[scorer],
            churned,
            customers,
            probabilities=probabilities[scorer],
            budget_fraction=budget_fraction,
            replicates=replicates,
            seed=seed,
        )
        for scorer in SCORERS
    }
    return Comparison(len(rows), int(churned.sum()), figures, ranking, probabilities, churned)


def figure_columns(estimates: dict[str, Estimate]) -> dict[str, float | None]:
    """{auc, auc_low, auc_high, …} of one scorer: a table row's figures."""
    return {f"{name}{suffix}": getattr(estimates[name], part) for name in FIGURES for suffix, part in _PARTS}


def roc_points(scores: np.ndarray, churned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates) from the highest score down, one step per
    group of tied scores (a tie is a diagonal segment, the half credit AUC gives it)."""
    positives, negatives = int(churned.sum()), int((~churned).sum())
    if positives == 0 or negatives == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    _, group = np.unique(-scores, return_inverse=True)
    tp = np.cumsum(np.bincount(group, churned.astype(np.float64)))
    fp = np.cumsum(np.bincount(group, (~churned).astype(np.float64)))
    return np.concatenate([[0.0], fp / negatives]), np.concatenate([[0.0], tp / positives])


def reliability(probabilities: np.ndarray, churned: np.ndarray) -> pd.DataFrame:
    """Per non-empty equal-width probability bin: mean predicted, observed churn, customers."""
    bins = np.minimum((probabilities * RELIABILITY_BINS).astype(np.int64), RELIABILITY_BINS - 1)
    frame = pd.DataFrame({"bin": bins, "predicted": probabilities, "observed": churned.astype(np.float64)})
    grouped = frame.groupby("bin").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), customers=("observed", "size")
    )
    return grouped.reset_index(drop=True)
