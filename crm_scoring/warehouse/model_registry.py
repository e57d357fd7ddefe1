"""The churn-model registry: save a training run's models, load one, find a tenant's latest.

Models are stored as LightGBM text and JSON and rebuilt from them (crm_scoring/model), never
unpickled. Tenant ids and versions are bound parameters; the schema a validated identifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, text

from crm_scoring.model.estimators import LogisticBaseline
from crm_scoring.model.serving import RegistryEntry, learned_until
from crm_scoring.model.training import NO_MODEL, ChurnModel, TrainedScope

TRAINED, NOT_TRAINED = "trained", "no_model"
_COLUMNS = (
    "model_version, training_run, scope_kind, tenant_ids, trained_on_tenant_ids, status, reasons, "
    "trained_at, training_days, validation_days, horizon_days, features, parameters, metrics, "
    "model_text, calibration, baseline"
)


@dataclass(frozen=True)
class RegisteredModel:
    model_version: str
    training_run: str
    scope_kind: str
    tenant_ids: tuple[str, ...]
    trained_on_tenant_ids: tuple[str, ...]
    status: str
    reasons: Mapping[str, str]
    trained_at: datetime
    training_days: tuple[date, ...]
    validation_days: tuple[date, ...]
    horizon_days: int
    features: tuple[str, ...]
    parameters: Mapping[str, Any]
    # {tenant: {"rows", "churners", "churned_customers",
    #           "model" | "baseline" | "rule" | "naive_…": {figure: {value, low, high}}}}
    metrics: Mapping[str, Any]
    model: ChurnModel | None
    baseline: LogisticBaseline | None


def model_version(scope: TrainedScope, trained_at: datetime) -> str:
    """churn-<UTC instant>-<kind>-<digest of what the row holds>: unique per model and run."""
    digest = hashlib.sha256(
        json.dumps(
            [scope.kind, scope.tenant_ids, scope.model.booster.model_text if scope.model else None],
        ).encode()
    ).hexdigest()[:12]
    return f"churn-{trained_at:%Y%m%dT%H%M%S%f}-{scope.kind}-{digest}"


def save_training_run(
    engine: Engine, schema: str, scopes: Sequence[TrainedScope], *, training_run: str, trained_at: datetime
) -> list[str]:
    """Stores every scope of one training run in one transaction (all or nothing); returns the
    model versions in the order of ``scopes``."""
    rows = [_row(scope, training_run, trained_at) for scope in scopes]
    if rows:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"""insert into {schema}.model_registry ({_COLUMNS}) values (
                        :model_version, :training_run, :scope_kind, :tenant_ids, :trained_on_tenant_ids,
                        :status, cast(:reasons as jsonb), :trained_at, :training_days,
                        :validation_days, :horizon_days, cast(:features as jsonb),
                        cast(:parameters as jsonb), cast(:metrics as jsonb), :model_text,
                        cast(:calibration as jsonb), cast(:baseline as jsonb))"""
                ),
                rows,
            )
    return [row["model_version"] for row in rows]


def load_model(engine: Engine, schema: str, version: str) -> RegisteredModel | None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                text(f"select {_COLUMNS} from {schema}.model_registry where model_version = :version"),
                {"version": version},
            )
            .mappings()
            .one_or_none()
        )
    return None if row is None else _registered(row)


def latest_for_tenant(engine: Engine, schema: str, tenant_id: str) -> RegisteredModel | None:
    """The newest registry entry serving the tenant: its model, or the reason it has none."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                text(
                    f"""select {_COLUMNS} from {schema}.model_registry
                    where tenant_ids @> array[cast(:tenant as text)]
                    order by trained_at desc, model_version desc
                    limit 1"""
                ),
                {"tenant": tenant_id},
            )
            .mappings()
            .one_or_none()
        )
    return None if row is None else _registered(row)


def tenant_entries(engine: Engine, schema: str, tenant_id: str) -> list[RegistryEntry]:
    """Every registry entry serving the tenant, without the models: what
    serving.model_for_day chooses from."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"""select model_version, status, reasons ->> cast(:tenant as text) as reason,
                    trained_at, validation_days, horizon_days
                from {schema}.model_registry
                where tenant_ids @> array[cast(:tenant as text)]"""
            ),
            {"tenant": tenant_id},
        ).mappings()
        return [
            RegistryEntry(
                model_version=row["model_version"],
                trained=row["status"] == TRAINED,
                trained_at=row["trained_at"],
                learned_until=learned_until(row["validation_days"], row["horizon_days"]),
                reason=row["reason"] or "",
            )
            for row in rows
        ]


def _row(scope: TrainedScope, training_run: str, trained_at: datetime) -> dict[str, Any]:
    trained = scope.kind != NO_MODEL and scope.model is not None
    return {
        "model_version": model_version(scope, trained_at),
        "training_run": training_run,
        "scope_kind": scope.kind,
        "tenant_ids": list(scope.tenant_ids),
        "trained_on_tenant_ids": list(scope.trained_on),
        "status": TRAINED if trained else NOT_TRAINED,
        "reasons": _json(dict(scope.reasons)),
        "trained_at": trained_at,
        "training_days": list(scope.split.training_days) if scope.split else [],
        "validation_days": list(scope.split.validation_days) if scope.split else [],
        "horizon_days": scope.parameters["config"]["horizon_days"],
        "features": _json(list(scope.model.features) if scope.model else []),
        "parameters": _json(dict(scope.parameters)),
        "metrics": _json(_plain_metrics(scope.metrics)),
        "model_text": scope.model.booster.model_text if trained else None,
        "calibration": _json(scope.model.calibration_json()) if trained else None,
        "baseline": _json(scope.baseline.to_json()) if scope.baseline else None,
    }


def _plain_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        tenant: {
            key: {name: estimate.as_dict() for name, estimate in value.items()}
            if isinstance(value, Mapping)
            else value
            for key, value in figures.items()
        }
        for tenant, figures in metrics.items()
    }


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=False, default=_scalar)


def _scalar(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _registered(row: RowMapping) -> RegisteredModel:
    trained = row["status"] == TRAINED
    return RegisteredModel(
        model_version=row["model_version"],
        training_run=row["training_run"],
        scope_kind=row["scope_kind"],
        tenant_ids=tuple(row["tenant_ids"]),
        trained_on_tenant_ids=tuple(row["trained_on_tenant_ids"]),
        status=row["status"],
        reasons=row["reasons"],
        trained_at=row["trained_at"],
        training_days=tuple(row["training_days"]),
        validation_days=tuple(row["validation_days"]),
        horizon_days=row["horizon_days"],
        features=tuple(row["features"]),
        parameters=row["parameters"],
        metrics=row["metrics"],
        model=ChurnModel.from_serialized(row["model_text"], row["calibration"]) if trained else None,
        baseline=LogisticBaseline.from_json(row["baseline"]) if row["baseline"] is not None else None,
    )


def learned_ranges(
    engine: Engine, schema: str, versions: Sequence[str]
) -> dict[str, tuple[tuple[date, ...], tuple[date, ...], int]]:
    """{model_version: (training_days, validation_days, horizon_days)}: what the comparison
    with the rule needs to tell out-of-time days from days the model learned from, without
    loading the models."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"""select model_version, training_days, validation_days, horizon_days
                from {schema}.model_registry where model_version = any(:versions)"""
            ),
            {"versions": list(versions)},
        )
        return {
            row.model_version: (tuple(row.training_days), tuple(row.validation_days), row.horizon_days)
            for row in rows
        }
