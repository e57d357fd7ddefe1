"""How well churn-risk scores ranked the customers who then churned: pure metrics, no I/O.

Every function takes one population: ``scores`` (churn_risk_score per customer) and ``churned``
(the observed outcome, booleans) of equal length. A figure that is undefined for the population
(no churner, no customer alerted, nobody at all) is None (missing in a table), never 0.

Ties: scores are integers 0-100, so many customers share one. AUC gives tied pairs half credit
(average ranks); the top-decile cut shares the tied group at the cut in proportion, i.e. the
expectation over every order of the tied customers. Both therefore reward no arbitrary order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import numpy.typing as npt
import pandas as pd

from crm_scoring.rules.distributions import CHURN_RISK_BANDS

DECILES = range(1, 11)
# The calibration table reads from the lowest band to the highest.
CALIBRATION_BANDS = tuple(reversed(CHURN_RISK_BANDS))
_TOP_SCORE = 100


@dataclass(frozen=True)
class BacktestFigures:
    customers: int
    churned: int
    churn_rate: float | None
    auc: float | None
    alerted: int
    precision_at_threshold: float | None
    recall_at_threshold: float | None
    top_decile_lift: float | None


@dataclass(frozen=True)
class TenantBacktests:
    """Per tenant: one row of figures, one row per calibration band, one row per decile."""

    figures: pd.DataFrame
    calibration: pd.DataFrame
    lift_curve: pd.DataFrame


def auc(scores: npt.ArrayLike, churned: npt.ArrayLike) -> float | None:
    """Probability that a random churner scores above a random stayer (ties count half).

    Mann-Whitney: (sum of the churners' average ranks - n1(n1+1)/2) / (n1 n0).
    """
    scores, churned = _population(scores, churned)
    positives = int(churned.sum())
    negatives = len(churned) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[churned].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def precision_recall(
    scores: npt.ArrayLike, churned: npt.ArrayLike, threshold: int
) -> tuple[int, float | None, float | None]:
    """(customers alerted, precision, recall) of alerting every customer with score >= threshold."""
    scores, churned = _population(scores, churned)
    alerted = scores >= threshold
    hits = int((alerted & churned).sum())
    precision = hits / int(alerted.sum()) if alerted.any() else None
    recall = hits / int(churned.sum()) if churned.any() else None
    return int(alerted.sum()), precision, recall


def churners_in_top(scores: npt.ArrayLike, churned: npt.ArrayLike, deciles: int) -> float:
    """Expected churners among the ``deciles``/10 of customers with the highest scores.

    The top holds exactly deciles * n / 10 customers (possibly a fraction). Customers tied at
    the cut score fill the rest of it in proportion: each contributes the tied group's churn
    rate per place.
    """
    scores, churned = _population(scores, churned)
    places = deciles * len(scores) / 10
    if places == 0:
        return 0.0
    last_place = -(-deciles * len(scores) // 10)  # ceil, in integers: no float rounding
    cut = np.sort(scores)[::-1][last_place - 1]
    above, at_cut = scores > cut, scores == cut
    return float(churned[above].sum() + (places - above.sum()) * churned[at_cut].mean())


def lift(scores: npt.ArrayLike, churned: npt.ArrayLike, deciles: int) -> float | None:
    """Churn rate among the top ``deciles``/10 by score, divided by the overall churn rate."""
    scores, churned = _population(scores, churned)
    positives = int(churned.sum())
    if positives == 0:
        return None
    # (captured / (deciles n / 10)) / (positives / n)
    return churners_in_top(scores, churned, deciles) * 10 / (deciles * positives)


def lift_curve(scores: npt.ArrayLike, churned: npt.ArrayLike) -> pd.DataFrame:
    """Per decile d: the top d/10 of customers, the churners they hold and the lift."""
    scores, churned = _population(scores, churned)
    positives = int(churned.sum())
    captured = [churners_in_top(scores, churned, deciles) for deciles in DECILES]
    return pd.DataFrame(
        {
            "decile": list(DECILES),
            "customers": [deciles * len(scores) / 10 for deciles in DECILES],
            "churners_captured": captured,
            "capture_rate": [c / positives if positives else None for c in captured],
            "lift": [lift(scores, churned, deciles) for deciles in DECILES],
        }
    )


def calibration(scores: npt.ArrayLike, churned: npt.ArrayLike) -> pd.DataFrame:
    """Per churn-risk band (low to critical, every band even when empty): observed churn."""
    scores, churned = _population(scores, churned)
    series = pd.Series(scores)
    rows = []
    for order, band in enumerate(CALIBRATION_BANDS):
        inside = band.contains(series).to_numpy()
        customers = int(inside.sum())
        rows.append(
            {
                "band_order": order,
                "band": band.name,
                "min_score": band.lower or 0,
                "max_score": _TOP_SCORE if band.upper is None else band.upper - 1,
                "customers": customers,
                "churned": int(churned[inside].sum()),
                "churn_rate": float(churned[inside].mean()) if customers else None,
                "mean_score": float(scores[inside].mean()) if customers else None,
            }
        )
    return pd.DataFrame(rows)


def backtest_figures(scores: npt.ArrayLike, churned: npt.ArrayLike, threshold: int) -> BacktestFigures:
    scores, churned = _population(scores, churned)
    alerted, precision, recall = precision_recall(scores, churned, threshold)
    return BacktestFigures(
        customers=len(scores),
        churned=int(churned.sum()),
        churn_rate=float(churned.mean()) if len(scores) else None,
        auc=auc(scores, churned),
        alerted=alerted,
        precision_at_threshold=precision,
        recall_at_threshold=recall,
        top_decile_lift=lift(scores, churned, 1),
    )


def why_undefined(figures: BacktestFigures, threshold: int) -> str | None:
    """Which figures are undefined for this population and why, in words; None when none is."""
    if figures.customers == 0:
        return "nobody to evaluate: no customer was ACTIVE on the scored day"
    reasons = []
    if figures.churned == 0:
        reasons.append("no evaluated customer churned in the window, so AUC, recall and lift are undefined")
    elif figures.churned == figures.customers:
        reasons.append("every evaluated customer churned, so AUC is undefined")
    if figures.alerted == 0:
        reasons.append(f"no customer reached the alert threshold {threshold}, so precision is undefined")
    return "; ".join(reasons) or None


def tenant_backtests(outcomes: pd.DataFrame, thresholds: Mapping[str, int]) -> TenantBacktests:
    """Figures per tenant of ``outcomes`` (tenant_id, churn_risk_score, churned), tenants sorted;
    precision and recall at each tenant's alert threshold."""
    figures, bands, curves = [], [], []
    for tenant_id, rows in outcomes.groupby("tenant_id", sort=True):
        scores, churned = rows["churn_risk_score"].to_numpy(), rows["churned"].to_numpy()
        threshold = thresholds[tenant_id]
        tenant_figures = backtest_figures(scores, churned, threshold)
        figures.append(
            {
                "tenant_id": tenant_id,
                "alert_threshold": threshold,
                **asdict(tenant_figures),
                "why_undefined": why_undefined(tenant_figures, threshold),
            }
        )
        bands.append(calibration(scores, churned).assign(tenant_id=tenant_id))
        curves.append(lift_curve(scores, churned).assign(tenant_id=tenant_id))
    return TenantBacktests(
        figures=pd.DataFrame(figures, columns=_FIGURE_COLUMNS),
        calibration=_tenant_first(bands, calibration([], [])),
        lift_curve=_tenant_first(curves, lift_curve([], [])),
    )


_FIGURE_COLUMNS = [
    "tenant_id",
    "alert_threshold",
    *(field.name for field in fields(BacktestFigures)),
    "why_undefined",
]


def _tenant_first(frames: Sequence[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    columns = ["tenant_id", *empty.columns]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _population(scores: npt.ArrayLike, churned: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    if scores.shape != churned.shape:
        raise ValueError(f"{scores.shape[0]} scores but {churned.shape[0]} outcomes")
    return scores, churned
