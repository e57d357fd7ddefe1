"""churn_predictions: each (day, tenant)'s churn probabilities from the tenant's registry model,
ranked, with the drivers in words for the top of the list."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import dagster as dg
import pandas as pd

from crm_scoring.defs.dbt_project import dbt_model_key
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, one_line_cause
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.model.serving import PREDICTION_COLUMNS, RegistryEntry, model_for_day, prediction_rows
from crm_scoring.model.training import ChurnModel
from crm_scoring.scope import DayScope, window_start
from crm_scoring.settings import (
    AT_RISK_POPULATION,
    CHURN_DRIVERS_TOP_PERCENT_ENV,
    churn_drivers_top_percent,
    load_settings,
)
from crm_scoring.warehouse.model_inputs import activity_types_of, prediction_frame
from crm_scoring.warehouse.model_registry import RegisteredModel, load_model, tenant_entries

TABLE_COLUMNS = [*PREDICTION_COLUMNS, "predicted_at", "run_id"]
_TENANTS_AT_ONCE = 2
EVERY_TENANT_CHECK = "every_tenant_predicted"


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="churn_model",
    deps=[
        dbt_model_key("customer_behaviour_features"),
        dbt_model_key("customer_activity_type_counts"),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            EVERY_TENANT_CHECK,
            asset="churn_predictions",
            description=(
                "Fails when a tenant's model could not predict (e.g. it failed to load): that "
                "tenant's rows are left as they were, the other tenants are written."
            ),
        )
    ],
    description=(
        "The learned churn model's predictions per customer of the day in the model's population "
        "(ACTIVE, and by default not already silent for the whole horizon): churn_probability "
        "(calibrated, 0-1), churn_rank within the tenant (1 = highest), the model_version that "
        f"made them and, for the top {CHURN_DRIVERS_TOP_PERCENT_ENV} (default 5) percent of each "
        "tenant, the three drivers in words. The model is the registry's for that day (point in "
        "time: a rerun uses the same one); a tenant without one gets no rows and its partition "
        "says why. Table analytics.churn_predictions. See docs/churn-model.md."
    ),
)
def churn_predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    started = time.monotonic()
    top_percent = churn_drivers_top_percent()
    # per run, not per (day, tenant): a backfill's days mostly share one model
    entries: dict[str, list[RegistryEntry]] = {}
    models: dict[str, RegisteredModel | None] = {}
    failures: dict[str, str] = {}
    # Tenants two at a time: while one tenant's rows are read and pivoted by PostgreSQL, the
    # other's are parsed and predicted here (LightGBM and the COPY's parser release the GIL).
    with ThreadPoolExecutor(max_workers=_TENANTS_AT_ONCE) as pool:
        for scope in warehouse.batches_of_run(context.partition_keys):
            predict = partial(_predict_or_failure, warehouse, scope, top_percent, entries, models)
            written: list[pd.DataFrame] = []
            figures: dict[str, dict[str, object]] = {}
            for tenant_id, (rows, figures[tenant_id], cause) in zip(
                scope.tenant_ids, pool.map(predict, scope.tenant_ids), strict=True
            ):
                if cause is None:
                    written.append(rows)
                else:
                    failures[f"{scope.as_of_date} {tenant_id}"] = cause
                    context.log.error(f"churn_predictions {scope.as_of_date} {tenant_id}: {cause}")
            _write(context, warehouse, scope, written, figures)
    return dg.MaterializeResult(
        metadata={
            "duration_seconds": round(time.monotonic() - started, 3),
            "drivers_top_percent": top_percent,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=EVERY_TENANT_CHECK,
                passed=not failures,
                severity=dg.AssetCheckSeverity.ERROR,
                description="; ".join(f"{where}: {cause}" for where, cause in failures.items()) or None,
            )
        ],
    )


def _write(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    scope: DayScope,
    written: list[pd.DataFrame],
    figures: dict[str, dict[str, object]],
) -> None:
    """The predicted tenants' partitions replaced in one transaction; a failed tenant's left as
    they were."""
    predicted = tuple(t for t in scope.tenant_ids if "error" not in figures[t])
    if predicted:
        rows = pd.concat(written, ignore_index=True)
        rows["predicted_at"] = datetime.now(UTC).isoformat()
        rows["run_id"] = context.run.run_id
        warehouse.replace_partition(
            "churn_predictions",
            DayScope(scope.as_of_date, predicted, scope.as_of),
            rows[TABLE_COLUMNS],
        )
    add_partition_metadata(context, scope.as_of_date, figures)


def _predict_or_failure(
    warehouse: WarehouseResource,
    scope: DayScope,
    top_percent: int,
    entries: dict[str, list[RegistryEntry]],
    models: dict[str, RegisteredModel | None],
    tenant_id: str,
) -> tuple[pd.DataFrame | None, dict[str, object], str | None]:
    """_predict's rows and metadata, or the cause of its failure in one line."""
    try:
        return (*_predict(warehouse, scope, tenant_id, top_percent, entries, models), None)
    except Exception as exc:  # one tenant's broken model must not stop the others
        cause = one_line_cause(exc)
        return None, {"error": f"{cause}; its rows were left as they were"}, cause


def _predict(
    warehouse: WarehouseResource,
    scope: DayScope,
    tenant_id: str,
    top_percent: int,
    entries: dict[str, list[RegistryEntry]],
    models: dict[str, RegisteredModel | None],
) -> tuple[pd.DataFrame, dict[str, object]]:
    """One tenant's rows for the day (none without a model) and its partition's metadata;
    ``entries`` and ``models`` cache the registry's answers for the run."""
    if tenant_id not in entries:
        entries[tenant_id] = tenant_entries(warehouse.engine, warehouse.analytics_schema, tenant_id)
    choice = model_for_day(entries[tenant_id], scope.as_of_date, scope.as_of)
    if choice.model_version is None:
        return pd.DataFrame(columns=PREDICTION_COLUMNS), {"customers_predicted": 0, "no_model": choice.reason}
    if choice.model_version not in models:
        models[choice.model_version] = load_model(
            warehouse.engine, warehouse.analytics_schema, choice.model_version
        )
    registered = models[choice.model_version]
    if registered is None or registered.model is None:
        raise LookupError(f"model {choice.model_version} is not a trained model in the registry")
    model: ChurnModel = registered.model
    frame, left_out = population_frame(warehouse, scope, tenant_id, registered)
    rows = prediction_rows(model, frame, choice.model_version, top_percent)
    return rows, {
        "customers_predicted": len(rows),
        **left_out,
        "model_version": choice.model_version,
        "model_choice": choice.reason,
        "customers_with_drivers": int(rows["driver_1"].notna().sum()),
    }


def population_frame(
    warehouse: WarehouseResource, scope: DayScope, tenant_id: str, registered: RegisteredModel
) -> tuple[pd.DataFrame, dict[str, object]]:
    """The day's training_frame rows of the tenant's customers in the population the model
    learned from (its registry parameters): every customer ACTIVE that day (``all_active``), or
    those of them not already churned by the label's own definition (``at_risk``: an activity in
    the model's horizon before as_of, or created within it). A customer silent for the whole
    horizon has churned already: ranking it would fill the top of the list, and the model
    alerts, with customers gone, whom the model never learned from. Also the metadata counting
    who was left out."""
    population = registered.parameters.get("config", {}).get("population", AT_RISK_POPULATION)
    frame, left_out = prediction_frame(
        warehouse.engine,
        load_settings(),
        DayScope(scope.as_of_date, (tenant_id,), scope.as_of),
        window_start(scope.as_of, registered.horizon_days) if population == AT_RISK_POPULATION else None,
        activity_types_of(registered.features),
    )
    return frame, {
        "population": population,
        "active_customers_left_out_as_already_churned": left_out,
    }
