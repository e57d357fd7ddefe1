"""How well a churn model ranked and how true its probabilities were, with 95% bootstrap intervals.

Ranking figures (AUC, PR-AUC, top-decile lift, recall at the alert budget) read ``scores`` (any
monotone score: raw model output, the specification's churn_risk_score); probability figures
(Brier, expected calibration error) read ``probabilities``. Ties count the way the rule
backtest counts them (rules/backtest.py): half credit in AUC, a tied group at a cut shares the
places in proportion.

The bootstrap resamples customers, not rows: one customer validated on several days is one
unit, so the interval reflects how many customers were seen. A replicate is a vector of
weights (how often each customer was drawn), so every figure is a weighted sum over groups of
tied scores computed once: no re-sorting per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

RANKING_FIGURES = ("auc", "pr_auc", "top_decile_lift", "recall_at_budget")
PROBABILITY_FIGURES = ("brier", "ece")
FIGURES = (*RANKING_FIGURES, *PROBABILITY_FIGURES)
# How tables in the Dagster UI and the CLI head each figure.
FIGURE_LABELS = {
    "auc": "AUC",
    "pr_auc": "PR-AUC",
    "top_decile_lift": "top-decile lift",
    "recall_at_budget": "recall at budget",
    "brier": "Brier",
    "ece": "ECE",
}
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95% bootstrap interval; None where undefined (e.g. no churner)."""

    value: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


class _Population:
    """Validation rows prepared once: groups of tied scores (highest first) and calibration bins."""

    def __init__(
        self,
        scores: np.ndarray,
        probabilities: np.ndarray | None,
        churned: np.ndarray,
        *,
        budget_fraction: float,
        ece_bins: int,
    ) -> None:
        _, self.group = np.unique(-scores, return_inverse=True)
        self.groups = int(self.group.max()) + 1 if len(scores) else 0
        self.churned = churned.astype(np.float64)
        self.probabilities = probabilities
        self.budget_fraction = budget_fraction
        self.ece_bins = ece_bins
        if probabilities is not None:
            self.bin = np.minimum((probabilities * ece_bins).astype(np.int64), ece_bins - 1)
            self.squared_errors = (probabilities - self.churned) ** 2

    def figures(self, weights: np.ndarray) -> dict[str, float | None]:
        positives = np.bincount(self.group, weights * self.churned, self.groups)
        everyone = np.bincount(self.group, weights, self.groups)
        negatives = everyone - positives
        total_positive, total = positives.sum(), everyone.sum()
        total_negative = total - total_positive
        figures: dict[str, float | None] = dict.fromkeys(FIGURES)
        if total_positive > 0 and total_negative > 0:
            negatives_below = total_negative - np.cumsum(negatives)
            figures["auc"] = float(
                (positives * negatives_below + 0.5 * positives * negatives).sum()
                / (total_positive * total_negative)
            )
        if total_positive > 0:
            cumulative_positive, cumulative = np.cumsum(positives), np.cumsum(everyone)
            precision = np.divide(
                cumulative_positive, cumulative, out=np.zeros_like(cumulative), where=cumulative > 0
            )
            figures["pr_auc"] = float((positives / total_positive * precision).sum())
            figures["top_decile_lift"] = _captured(
                cumulative_positive, cumulative, positives, everyone, 0.1 * total
            ) / (0.1 * total_positive)
            figures["recall_at_budget"] = (
                _captured(cumulative_positive, cumulative, positives, everyone, self.budget_fraction * total)
                / total_positive
            )
        if self.probabilities is not None and total > 0:
            figures["brier"] = float(weights @ self.squared_errors / total)
            observed = np.bincount(self.bin, weights * self.churned, self.ece_bins)
            predicted = np.bincount(self.bin, weights * self.probabilities, self.ece_bins)
            figures["ece"] = float(np.abs(observed - predicted).sum() / total)
        return figures


def _captured(
    cumulative_positive: np.ndarray,
    cumulative: np.ndarray,
    positives: np.ndarray,
    everyone: np.ndarray,
    places: float,
) -> float:
    """Expected churners among the ``places`` highest scores (weights), the tied group at the cut
    filling the rest in proportion to its churn rate."""
    if places <= 0:
        return 0.0
    cut = int(np.searchsorted(cumulative, places, side="left"))
    cut = min(cut, len(cumulative) - 1)
    before_positive = cumulative_positive[cut - 1] if cut else 0.0
    before = cumulative[cut - 1] if cut else 0.0
    rate = positives[cut] / everyone[cut] if everyone[cut] > 0 else 0.0
    return float(before_positive + (places - before) * rate)


def evaluate(
    scores: npt.ArrayLike,
    churned: npt.ArrayLike,
    customers: npt.ArrayLike,
    *,
    probabilities: npt.ArrayLike | None = None,
    budget_fraction: float = 0.05,
    ece_bins: int = 10,
    replicates: int = 200,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Every figure of FIGURES with its interval. ``customers`` names the bootstrap unit of each
    row (equal values are one customer); probability figures are None without ``probabilities``."""
    scores = np.asarray(scores, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=np.float64)
    cluster, units = pd.factorize(pd.Series(np.asarray(customers, dtype=object)))
    if not (len(scores) == len(churned) == len(cluster)) or (
        probabilities is not None and len(probabilities) != len(scores)
    ):
        raise ValueError("scores, churned, customers and probabilities must have one value per row")
    population = _Population(
        scores, probabilities, churned, budget_fraction=budget_fraction, ece_bins=ece_bins
    )
    point = population.figures(np.ones(len(scores)))
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in FIGURES}
    for _ in range(replicates if len(units) else 0):
        counts = np.bincount(rng.integers(0, len(units), len(units)), minlength=len(units))
        for name, value in population.figures(counts[cluster].astype(np.float64)).items():
            draws[name].append(np.nan if value is None else value)
    tail = (1 - CONFIDENCE) / 2 * 100
    estimates = {}
    for name in FIGURES:
        values = np.asarray(draws[name], dtype=np.float64)
        defined = values[~np.isnan(values)]
        if point[name] is None or len(defined) == 0:
            estimates[name] = Estimate(point[name], None, None)
        else:
            low, high = np.percentile(defined, [tail, 100 - tail])
            estimates[name] = Estimate(point[name], float(low), float(high))
    return estimates


def expected_calibration_error(probabilities: npt.ArrayLike, churned: npt.ArrayLike, bins: int = 10) -> float:
    """Sum over equal-width probability bins of |churners - predicted churners| / customers."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    population = _Population(
        probabilities, probabilities, np.asarray(churned, dtype=bool), budget_fraction=0.05, ece_bins=bins
    )
    ece = population.figures(np.ones(len(probabilities)))["ece"]
    if ece is None:
        raise ValueError("no customer to calibrate")
    return ece


def auc(scores: npt.ArrayLike, churned: npt.ArrayLike) -> float | None:
    """The AUC alone (ties count half), no interval; None without both outcomes."""
    scores, churned = np.asarray(scores, dtype=np.float64), np.asarray(churned, dtype=bool)
    population = _Population(scores, None, churned, budget_fraction=0.05, ece_bins=1)
    return population.figures(np.ones(len(scores)))["auc"]
