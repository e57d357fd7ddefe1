"""Which tenants get a model of their own, a pooled one or none, and the training of each.

Input: one row per (as_of_date, tenant_id, customer_id) of a labelled day with ``churned`` (the
customer churned within the horizon after as_of) and numeric feature columns; optionally the
specification's ``churn_risk_score``, which is compared with, never learned from.

Per tenant: a model of its own when its training range holds at least ``min_tenant_churners``
churners; else the pooled model (trained on every tenant's rows, at most
``pooled_customers_per_other_tenant`` customers of each tenant it does not serve, with
tenant-level features) if the tenant has at least ``min_pooled_churners`` churners of its own
and all tenants together reach ``min_tenant_churners``; else no model. Each outcome carries its
reason in words. Only one model's rows are held in memory at a time (train_churn_models_by_tenant).

Each model is trained on its training days, calibrated on its validation days and judged there
(split.py); ranking figures read the raw model score, probability figures the calibrated
probability of a calibration fitted on the other customers (cross-fitting). A model whose
validation AUC is not above 0.5 with 95% confidence is refused: the tenants it would serve get no
model, its figures saying why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from crm_scoring.model.drivers import top_drivers
from crm_scoring.model.estimators import (
    BoosterSettings,
    GradientBoosting,
    IsotonicCalibration,
    LogisticBaseline,
    cross_fitted_calibration,
    feature_matrix,
)
from crm_scoring.model.metrics import Estimate, evaluate
from crm_scoring.model.split import NotEnoughHistory, TimeSplit, time_split
from crm_scoring.model.tuning import tuned_booster

KEY_COLUMNS = ("as_of_date", "tenant_id", "customer_id", "as_of")
LABEL = "churned"
LABEL_KEYS = ("as_of_date", "tenant_id", "customer_id", LABEL)
RULE_SCORE = "churn_risk_score"
# Profile fields are read from today's row for earlier days unless the history holds them
# (docs/point-in-time.md), so a model would learn the future from them: today's lifetime value
# "predicted" past churn with AUC 0.81. Dropped even when a frame carries them.
NEVER_FEATURES = frozenset(
    {
        RULE_SCORE,
        "status",
        "lifetime_value",
        "email_opt_in",
        "sms_opt_in",
        "push_opt_in",
        "whatsapp_opt_in",
        "latest_tier_change_reason",
        "profile_state_source",
        "last_activity_at",
        "last_email_open_at",
    }
)
# The best single naive predictors the model must beat (issue 11), judged beside it on the
# same rows: name -> (feature, +1 when a higher value means more risk, -1 when a lower one).
NAIVE_SCORERS: Mapping[str, tuple[str, int]] = {
    "naive_days_since_last_activity": ("days_since_last_activity", 1),
    "naive_fewer_activities_30d": ("activity_count_30d", -1),
}
# A customer never active has no days since the last activity: the longest silence of all.
_NEVER_ACTIVE_DAYS = 36_500.0
TYPE_COUNT_PREFIX = "type__"
TENANT_CUSTOMERS = "tenant__customers"
TENANT_CHURN_RATE = "tenant__training_churn_rate"

PER_TENANT, POOLED, NO_MODEL = "per_tenant", "pooled", "none"
# The default, and two more regularised (fewer leaves, more rows per leaf): on the honest
# generator's tenants these ranked the inner validation days better, by 0.002-0.006 AUC
# (docs/churn-model.md#choosing-the-boosters-settings).
BOOSTER_CANDIDATES: tuple[Mapping[str, Any], ...] = (
    {},
    {"num_leaves": 7, "min_data_in_leaf": 200},
    {"num_leaves": 4, "min_data_in_leaf": 400, "num_boost_round": 400},
)


@dataclass(frozen=True)
class ModelConfig:
    horizon_days: int = 60
    validation_day_count: int = 3
    min_tenant_churners: int = 30
    min_pooled_churners: int = 5
    alert_budget_percent: float = 5.0
    calibration_folds: int = 5
    bootstrap_replicates: int = 200
    ece_bins: int = 10
    seed: int = 7
    # The pooled model learns from every tenant, but from a tenant it does not serve only this
    # many customers: a large tenant would otherwise drown the small ones it is for, and every
    # tenant's rows would be held at once.
    pooled_customers_per_other_tenant: int = 2_000
    booster: BoosterSettings = field(default_factory=BoosterSettings)
    # Changes to ``booster`` tried on an inner split of the training days (model/tuning.py);
    # the newest ``tuning_validation_day_count`` training days judge them.
    booster_candidates: tuple[Mapping[str, Any], ...] = BOOSTER_CANDIDATES
    tuning_validation_day_count: int = 2
    # Whom the training rows hold (settings.CHURN_MODEL_POPULATIONS): the frame is selected in
    # the warehouse; kept here so the registry's parameters say which population its figures are on.
    population: str = "at_risk"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScopeDecision:
    tenant_id: str
    kind: str
    reason: str
    training_churners: int


@dataclass(frozen=True)
class ChurnModel:
    """What predicts: the booster, its calibration, and what the drivers compare with."""

    features: tuple[str, ...]
    booster: GradientBoosting
    calibration: IsotonicCalibration
    typical: tuple[float, ...]
    tenant_churn_rates: Mapping[str, float] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return feature_matrix(with_tenant_features(frame, self.tenant_churn_rates), self.features)

    def raw_scores(self, frame: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self.matrix(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn within the horizon) per row."""
        return self.calibration.apply(self.raw_scores(frame))

    def drivers(self, frame: pd.DataFrame, positions: Sequence[int] | None = None) -> list[list[str]]:
        """Per row (or per row at ``positions``: the contributions are the costly part), the
        top drivers in words. The tenant features of a pooled model are taken over the whole
        frame, so pass the whole day, not the selected rows."""
        values = self.matrix(frame)
        if positions is not None:
            values = values[np.asarray(positions, dtype=np.int64)]
        contributions = self.booster.contributions(values)[:, :-1]
        return top_drivers(contributions, values, self.features, self.typical)

    def calibration_json(self) -> dict[str, Any]:
        """Everything but the booster text, as JSON."""
        return {
            "features": list(self.features),
            "calibration": self.calibration.to_json(),
            "typical": [None if np.isnan(value) else value for value in self.typical],
            "tenant_churn_rates": dict(self.tenant_churn_rates),
        }

    @classmethod
    def from_serialized(cls, model_text: str, calibration_json: Mapping[str, Any]) -> ChurnModel:
        return cls(
            features=tuple(calibration_json["features"]),
            booster=GradientBoosting(model_text),
            calibration=IsotonicCalibration.from_json(calibration_json["calibration"]),
            typical=tuple(np.nan if value is None else float(value) for value in calibration_json["typical"]),
            tenant_churn_rates=dict(calibration_json["tenant_churn_rates"]),
        )


@dataclass(frozen=True)
class TrainedScope:
    """One model (or the absence of one) and the tenants it serves, with its validation figures
    per served tenant: {tenant: {"rows", "churners" (churned customer-days), "churned_customers"
    (distinct), "model", "baseline", "rule" (when the frame
    has the rule score), each of NAIVE_SCORERS whose feature the frame has: {figure: Estimate}}}."""

    kind: str
    tenant_ids: tuple[str, ...]
    reasons: Mapping[str, str]
    split: TimeSplit | None = None
    trained_on: tuple[str, ...] = ()
    model: ChurnModel | None = None
    baseline: LogisticBaseline | None = None
    metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # The model's AUC over all its validation rows (every served tenant's, pooled or not).
    validation_auc: Estimate | None = None


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Every column but the keys, the label and NEVER_FEATURES, in frame order."""
    excluded = {*KEY_COLUMNS, LABEL, *NEVER_FEATURES}
    return [column for column in frame.columns if column not in excluded]


def own_type_columns(rows: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """``features`` without the per-type activity counts (type__<TYPE>__...) that are 0 on every
    row: another tenant's activity types, which a tenant's own model has nothing to learn from
    (the frame has a column for every type of any tenant, so that a pooled model sees them all)."""
    return [
        column
        for column in features
        if not column.startswith(TYPE_COUNT_PREFIX) or bool(rows[column].fillna(0).ne(0).any())
    ]


def naive_scores(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each NAIVE_SCORERS predictor whose feature the frame has, as a score (higher: more risk)."""
    scores = {}
    for name, (column, sign) in NAIVE_SCORERS.items():
        if column in frame:
            values = frame[column].to_numpy(dtype=np.float64)
            if column == "days_since_last_activity":
                values = np.where(np.isnan(values), _NEVER_ACTIVE_DAYS, values)
            scores[name] = sign * values
    return scores


def with_tenant_features(frame: pd.DataFrame, churn_rates: Mapping[str, float]) -> pd.DataFrame:
    """The frame plus tenant-level features when the model is pooled (``churn_rates`` not empty):
    the tenant's customers that day, and its churn rate over the pooled model's training days."""
    if not churn_rates:
        return frame
    customers = frame.groupby(["as_of_date", "tenant_id"])["customer_id"].transform("size")
    rates = frame["tenant_id"].map(churn_rates).astype("float64")
    return frame.assign(**{TENANT_CUSTOMERS: customers.astype("float64"), TENANT_CHURN_RATE: rates})


def decide_scopes(
    frame: pd.DataFrame, config: ModelConfig, tenant_ids: Sequence[str] = ()
) -> list[ScopeDecision]:
    """Per tenant of the frame or of ``tenant_ids`` (sorted): per_tenant, pooled or none, with
    the reason."""
    days = labelled_days(frame)
    unlabelled = sorted(set(tenant_ids) - set(frame["tenant_id"]))
    provisional = [
        ScopeDecision(
            tenant_id,
            NO_MODEL,
            f"no model: no labelled customer-day (no scored day whose {config.horizon_days}-day "
            "horizon has passed)",
            0,
        )
        for tenant_id in unlabelled
    ]
    for tenant_id, rows in frame.groupby("tenant_id", sort=True):
        try:
            split = _split(days[rows.index], config)
        except NotEnoughHistory as error:
            provisional.append(ScopeDecision(tenant_id, NO_MODEL, f"no model: {error}", 0))
            continue
        churners = int(rows[LABEL][days[rows.index].isin(split.training_days)].sum())
        span = f"{split.training_days[0].isoformat()}..{split.training_days[-1].isoformat()}"
        if churners >= config.min_tenant_churners:
            kind = PER_TENANT
            reason = (
                f"a model of its own: {churners} churners in the training range {span} "
                f"(at least {config.min_tenant_churners})"
            )
        elif churners >= config.min_pooled_churners:
            kind = POOLED
            reason = (
                f"pooled model: {churners} churners in the training range {span}, fewer than "
                f"{config.min_tenant_churners} for a model of its own"
            )
        else:
            kind = NO_MODEL
            reason = (
                f"no model: {churners} churners in the training range {span}, fewer than "
                f"{config.min_pooled_churners} to be served by the pooled model "
                f"({config.min_tenant_churners} for a model of its own)"
            )
        provisional.append(ScopeDecision(tenant_id, kind, reason, churners))
    provisional.sort(key=lambda decision: decision.tenant_id)
    if any(decision.kind == POOLED for decision in provisional):
        pooled_churners = _pool_churners(frame, days, config)
        if pooled_churners < config.min_tenant_churners:
            return [
                ScopeDecision(
                    d.tenant_id,
                    NO_MODEL,
                    f"no model: {d.training_churners} churners of its own and all tenants together "
                    f"{pooled_churners} in the pooled training range, fewer than "
                    f"{config.min_tenant_churners}",
                    d.training_churners,
                )
                if d.kind == POOLED
                else d
                for d in provisional
            ]
    return provisional


def train_churn_models(
    frame: pd.DataFrame, config: ModelConfig | None = None, tenant_ids: Sequence[str] = ()
) -> list[TrainedScope]:
    """train_churn_models_by_tenant on a frame held in memory: its labels, its rows."""
    _check_columns(frame)
    frame = frame.reset_index(drop=True)
    return train_churn_models_by_tenant(
        frame[list(LABEL_KEYS)], lambda labels: frame.loc[labels.index], config, tenant_ids
    )


def train_churn_models_by_tenant(
    labels: pd.DataFrame,
    load_rows: Callable[[pd.DataFrame], pd.DataFrame],
    config: ModelConfig | None = None,
    tenant_ids: Sequence[str] = (),
) -> list[TrainedScope]:
    """Every tenant's outcome (those of ``labels`` and ``tenant_ids``): one TrainedScope per
    per-tenant model, one for the pooled model (serving its tenants), one per tenant without a
    model. The scopes are decided from the labels (LABEL_KEYS) alone; ``load_rows(some labels)``
    gives those labelled rows with their features, asked for one tenant at a time and once for
    the pooled model (pooled_labels), so that no more than one model's rows are held at once. A
    scope that fails to train becomes "none" with the error as its reason; the other tenants
    are not affected."""
    config = config or ModelConfig()
    _check_columns(labels)
    decisions = decide_scopes(labels, config, tenant_ids)
    positions = labels.groupby("tenant_id").indices
    scopes = []
    for decision in decisions:
        served, reasons = (decision.tenant_id,), {decision.tenant_id: decision.reason}
        if decision.kind == PER_TENANT:
            rows = load_rows(labels.iloc[positions[decision.tenant_id]])
            own = own_type_columns(rows, feature_columns(rows))
            scopes.append(_better_than_chance(_fit_or_none(rows, own, served, PER_TENANT, reasons, config)))
        elif decision.kind == NO_MODEL:
            scopes.append(_no_model(served, reasons, config))
    pooled = [decision for decision in decisions if decision.kind == POOLED]
    if pooled:
        reasons = {decision.tenant_id: decision.reason for decision in pooled}
        served = tuple(decision.tenant_id for decision in pooled)
        rows = load_rows(pooled_labels(labels, served, config.pooled_customers_per_other_tenant))
        scopes.append(
            _better_than_chance(_fit_or_none(rows, feature_columns(rows), served, POOLED, reasons, config))
        )
    return scopes


def pooled_labels(
    labels: pd.DataFrame, served: Sequence[str], customers_per_other_tenant: int
) -> pd.DataFrame:
    """The pooled model's rows: every row of the tenants it serves and, of each other tenant, the
    rows of at most ``customers_per_other_tenant`` of its customers, always the same ones (those
    whose id hashes lowest: pandas' hash has a fixed key)."""
    others = ~labels["tenant_id"].isin(served)
    customers = labels.loc[others, ["tenant_id", "customer_id"]].drop_duplicates()
    order = pd.util.hash_pandas_object(customers, index=False).to_numpy()
    sampled = (
        customers.assign(order=order)
        .sort_values(["tenant_id", "order"])
        .groupby("tenant_id", sort=False)
        .head(customers_per_other_tenant)
    )
    keys = pd.MultiIndex.from_frame(labels[["tenant_id", "customer_id"]])
    chosen = keys.isin(pd.MultiIndex.from_frame(sampled[["tenant_id", "customer_id"]]))
    return labels[~others.to_numpy() | chosen]


def _better_than_chance(scope: TrainedScope) -> TrainedScope:
    """The scope as trained when its model ranks its validation days better than chance with 95%
    confidence (AUC interval above 0.5); else no model, its figures kept to show why. A model
    that cannot be shown to beat a coin (e.g. a constant one) would still rank every customer,
    and model alerts would then pick customers at random."""
    auc = scope.validation_auc
    if scope.model is None or (auc is not None and auc.low is not None and auc.low > 0.5):
        return scope
    if auc is None or auc.value is None or auc.low is None or auc.high is None:
        why = "its validation days hold no churner, so nothing shows it ranks better than chance"
    else:
        why = (
            f"its validation AUC {auc.value:.3f} [{auc.low:.3f}, {auc.high:.3f}] is not above "
            "chance (0.5) with 95% confidence"
        )
    reasons = {tenant_id: f"no model: {why}" for tenant_id in scope.tenant_ids}
    return replace(scope, kind=NO_MODEL, reasons=reasons, model=None, baseline=None)


def labelled_days(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["as_of_date"]).dt.date


def customer_keys(frame: pd.DataFrame) -> np.ndarray:
    """One bootstrap / cross-fitting unit per (tenant, customer)."""
    return (frame["tenant_id"].astype(str) + "\x1f" + frame["customer_id"].astype(str)).to_numpy()


def _fit_or_none(
    rows: pd.DataFrame,
    features: Sequence[str],
    served: tuple[str, ...],
    kind: str,
    reasons: Mapping[str, str],
    config: ModelConfig,
) -> TrainedScope:
    try:
        return _fit(rows, features, served, kind, reasons, config)
    except Exception as error:  # one scope's data must not fail the other tenants
        reason = f"no model: training failed ({type(error).__name__}: {error})"
        return _no_model(served, dict.fromkeys(served, reason), config)


def _no_model(served: tuple[str, ...], reasons: Mapping[str, str], config: ModelConfig) -> TrainedScope:
    return TrainedScope(NO_MODEL, served, reasons, parameters={"config": config.as_dict()})


def _fit(
    rows: pd.DataFrame,
    features: Sequence[str],
    served: tuple[str, ...],
    kind: str,
    reasons: Mapping[str, str],
    config: ModelConfig,
) -> TrainedScope:
    days = labelled_days(rows)
    split = _split(days, config)
    training, validation = rows[days.isin(split.training_days)], rows[days.isin(split.validation_days)]
    churn_rates: dict[str, float] = {}
    names = list(features)
    if kind == POOLED:
        churn_rates = {str(t): float(r) for t, r in training.groupby("tenant_id")[LABEL].mean().items()}
        names += [TENANT_CUSTOMERS, TENANT_CHURN_RATE]
    train_x = feature_matrix(with_tenant_features(training, churn_rates), names)
    train_y = training[LABEL].to_numpy(dtype=bool)
    if train_y.all() or not train_y.any():
        raise NotEnoughHistory("the training days hold only one outcome (all churned or none)")
    tuning = tuned_booster(
        train_x,
        train_y,
        days[training.index].to_numpy(),
        names,
        base=config.booster,
        candidates=config.booster_candidates,
        horizon_days=config.horizon_days,
        inner_validation_day_count=config.tuning_validation_day_count,
        seed=config.seed,
    )
    booster = GradientBoosting.fit(train_x, train_y, names, tuning.chosen, config.seed)
    baseline = LogisticBaseline.fit(train_x, train_y, names)
    # A feature never recorded in training (e.g. payment cadence where nobody pays) has no
    # typical value: NaN, which the drivers read as such; numpy's warning about it is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        typical = tuple(float(value) for value in np.nanmedian(train_x, axis=0)) if len(names) else ()

    valid_x = feature_matrix(with_tenant_features(validation, churn_rates), names)
    valid_y = validation[LABEL].to_numpy(dtype=bool)
    customers = customer_keys(validation)
    raw = {"model": booster.predict(valid_x), "baseline": baseline.predict(valid_x)}
    if RULE_SCORE in validation:
        raw["rule"] = validation[RULE_SCORE].to_numpy(dtype=np.float64)
    raw.update(naive_scores(validation))
    calibrated = {
        name: cross_fitted_calibration(
            scores, valid_y, customers, folds=config.calibration_folds, seed=config.seed
        )
        for name, scores in raw.items()
    }
    model = ChurnModel(
        features=tuple(names),
        booster=booster,
        calibration=IsotonicCalibration.fit(raw["model"], valid_y),
        typical=typical,
        tenant_churn_rates=churn_rates,
    )
    metrics = {}
    for tenant_id in served:
        inside = (validation["tenant_id"] == tenant_id).to_numpy()
        metrics[tenant_id] = {
            "rows": int(inside.sum()),
            "churners": int(valid_y[inside].sum()),
            "churned_customers": len(np.unique(customers[inside & (valid_y == 1)])),
            **{
                name: _figures(
                    scores[inside], valid_y[inside], customers[inside], calibrated[name][inside], config
                )
                for name, scores in raw.items()
            },
        }
    overall = (
        metrics[served[0]]["model"]
        if kind == PER_TENANT  # its validation rows are its one tenant's
        else _figures(raw["model"], valid_y, customers, calibrated["model"], config)
    )
    training_churners = training.groupby("tenant_id")[LABEL].sum()
    parameters = {
        "config": config.as_dict(),
        "lightgbm": {
            **tuning.chosen.parameters(config.seed),
            "num_boost_round": tuning.chosen.num_boost_round,
        },
        "tuning": tuning.record,
        "training_rows": len(training),
        "training_churners": {str(t): int(n) for t, n in training_churners.items()},
        "validation_rows": len(validation),
    }
    return TrainedScope(
        kind=kind,
        tenant_ids=served,
        reasons=reasons,
        split=split,
        trained_on=tuple(str(t) for t in sorted(training["tenant_id"].unique())),
        model=model,
        baseline=baseline,
        metrics=metrics,
        parameters=parameters,
        validation_auc=overall["auc"],
    )


def _figures(
    scores: np.ndarray,
    churned: np.ndarray,
    customers: np.ndarray,
    probabilities: np.ndarray,
    config: ModelConfig,
) -> dict[str, Estimate]:
    return evaluate(
        scores,
        churned,
        customers,
        probabilities=probabilities,
        budget_fraction=config.alert_budget_percent / 100,
        ece_bins=config.ece_bins,
        replicates=config.bootstrap_replicates,
        seed=config.seed,
    )


def _split(days: pd.Series, config: ModelConfig) -> TimeSplit:
    return time_split(
        days.unique(), horizon_days=config.horizon_days, validation_day_count=config.validation_day_count
    )


def _pool_churners(frame: pd.DataFrame, days: pd.Series, config: ModelConfig) -> int:
    try:
        split = _split(days, config)
    except NotEnoughHistory:
        return 0
    return int(frame[LABEL][days.isin(split.training_days)].sum())


def _check_columns(frame: pd.DataFrame) -> None:
    missing = [column for column in LABEL_KEYS if column not in frame]
    if missing:
        raise ValueError(f"the training frame lacks {', '.join(missing)}")
