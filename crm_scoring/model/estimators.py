"""The estimators and their safe serial forms: LightGBM's own text model, and JSON for the
logistic baseline and the isotonic calibration. Nothing is pickled, so a model read back from a
table cannot run code.

Predictions always go through the serial form: the booster is rebuilt from its text right after
training, and the baseline and calibration predict with numpy from the very numbers they store.
A model loaded from the registry therefore predicts bit for bit what was validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def feature_matrix(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """float64 columns in the model's order; a feature the frame lacks is missing (NaN), e.g. an
    activity type a tenant no longer has."""
    columns = [
        pd.to_numeric(frame[name], errors="raise").astype("float64").to_numpy()
        if name in frame
        else np.full(len(frame), np.nan)
        for name in features
    ]
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


@dataclass(frozen=True)
class BoosterSettings:
    """LightGBM's parameters. No early stopping: choosing the number of rounds on the validation
    days would make their figures optimistic. No bagging or feature sampling; the seed, LightGBM's
    deterministic mode and a fixed thread count make the model text reproducible."""

    num_boost_round: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 50
    lambda_l2: float = 1.0
    num_threads: int = 1

    def parameters(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


class GradientBoosting:
    """A LightGBM binary classifier held as its text model."""

    def __init__(self, model_text: str) -> None:
        import lightgbm as lgb

        self.model_text = model_text
        self._booster = lgb.Booster(model_str=model_text)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        churned: np.ndarray,
        names: Sequence[str],
        settings: BoosterSettings,
        seed: int,
    ) -> GradientBoosting:
        import lightgbm as lgb

        dataset = lgb.Dataset(
            features, label=churned.astype(np.float64), feature_name=list(names), free_raw_data=True
        )
        booster = lgb.train(settings.parameters(seed), dataset, num_boost_round=settings.num_boost_round)
        return cls(booster.model_to_string())

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(churn) before calibration."""
        return self._booster.predict(features)

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per row and feature, its push on the log-odds (SHAP values); the last column, the base."""
        return self._booster.predict(features, pred_contrib=True)


@dataclass(frozen=True)
class LogisticBaseline:
    """Logistic regression on standardised features; a missing value takes the training median
    and sets a 0/1 indicator (for the features that were ever missing in training)."""

    features: tuple[str, ...]
    medians: tuple[float, ...]
    indicators: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float

    @classmethod
    def fit(cls, features: np.ndarray, churned: np.ndarray, names: Sequence[str]) -> LogisticBaseline:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        missing = np.isnan(features)
        with np.errstate(all="ignore"):
            medians = np.nan_to_num(np.nanmedian(np.where(missing.all(axis=0), 0.0, features), axis=0))
        indicators = tuple(name for name, ever in zip(names, missing.any(axis=0), strict=True) if ever)
        design = _design(features, names, medians, indicators)
        scaler = StandardScaler().fit(design)
        scales = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        regression = LogisticRegression(C=1.0, max_iter=1000).fit((design - scaler.mean_) / scales, churned)
        return cls(
            features=tuple(names),
            medians=tuple(float(value) for value in medians),
            indicators=indicators,
            means=tuple(float(value) for value in scaler.mean_),
            scales=tuple(float(value) for value in scales),
            coefficients=tuple(float(value) for value in regression.coef_[0]),
            intercept=float(regression.intercept_[0]),
        )

    def predict(self, features: np.ndarray) -> np.ndarray:
        design = _design(features, self.features, np.asarray(self.medians), self.indicators)
        standardised = (design - np.asarray(self.means)) / np.asarray(self.scales)
        return 1.0 / (1.0 + np.exp(-(standardised @ np.asarray(self.coefficients) + self.intercept)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "medians": list(self.medians),
            "indicators": list(self.indicators),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticBaseline:
        return cls(
            features=tuple(data["features"]),
            medians=tuple(data["medians"]),
            indicators=tuple(data["indicators"]),
            means=tuple(data["means"]),
            scales=tuple(data["scales"]),
            coefficients=tuple(data["coefficients"]),
            intercept=float(data["intercept"]),
        )


def _design(
    features: np.ndarray, names: Sequence[str], medians: np.ndarray, indicators: Sequence[str]
) -> np.ndarray:
    missing = np.isnan(features)
    filled = np.where(missing, medians, features)
    flags = [missing[:, list(names).index(name)].astype(np.float64) for name in indicators]
    return np.column_stack([filled, *flags]) if flags else filled


@dataclass(frozen=True)
class IsotonicCalibration:
    """A non-decreasing step-and-ramp map from a raw score to a probability (isotonic regression),
    held as its thresholds and applied by linear interpolation, clipped at both ends."""

    thresholds: tuple[float, ...]
    probabilities: tuple[float, ...]

    @classmethod
    def fit(cls, scores: np.ndarray, churned: np.ndarray) -> IsotonicCalibration:
        from sklearn.isotonic import IsotonicRegression

        regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            scores, churned.astype(np.float64)
        )
        return cls(
            thresholds=tuple(float(value) for value in regression.X_thresholds_),
            probabilities=tuple(float(value) for value in regression.y_thresholds_),
        )

    def apply(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(scores, np.asarray(self.thresholds), np.asarray(self.probabilities))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "isotonic",
            "thresholds": list(self.thresholds),
            "probabilities": list(self.probabilities),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IsotonicCalibration:
        if data.get("method") != "isotonic":
            raise ValueError(f"unknown calibration method {data.get('method')!r}")
        return cls(thresholds=tuple(data["thresholds"]), probabilities=tuple(data["probabilities"]))


def cross_fitted_calibration(
    scores: np.ndarray, churned: np.ndarray, customers: np.ndarray, *, folds: int, seed: int
) -> np.ndarray:
    """Each row's probability from an isotonic calibration fitted on the other customers' rows.

    Judging a calibration on the rows it was fitted on would flatter it (isotonic regression
    can fit noise exactly); splitting by customer keeps one customer's days in one fold.
    """
    codes, units = pd.factorize(pd.Series(np.asarray(customers, dtype=object)))
    fold_of_unit = np.random.default_rng(seed).permutation(len(units)) % max(1, min(folds, len(units)))
    fold = fold_of_unit[codes]
    calibrated = np.empty(len(scores))
    for held_out in np.unique(fold):
        inside = fold == held_out
        others = ~inside
        if not others.any():
            calibrated[inside] = churned.mean()
            continue
        calibrated[inside] = IsotonicCalibration.fit(scores[others], churned[others]).apply(scores[inside])
    return calibrated
