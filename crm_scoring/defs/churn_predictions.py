"""churn_predictions: each (day, tenant)'s churn probabilities from the tenant's registry model,
ranked, with the drivers in words for the top of the list."""

import time
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.dbt_project import dbt_model_key
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, one_line_cause
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.model.serving import PREDICTION_COLUMNS, RegistryEntry, model_for_day, prediction_rows
from crm_scoring.scope import DayScope, window_start
from crm_scoring.settings import (
    AT_RISK_POPULATION,
    CHURN_DRIVERS_TOP_PERCENT_ENV,
    churn_drivers_top_percent,
    load_settings,
)
from crm_scoring.warehouse.model_inputs import activity_types_of, training_frame
from crm_scoring.warehouse.model_registry import RegisteredModel, load_model, tenant_entries
from crm_scoring.warehouse.outcomes import at_risk_customers

TABLE_COLUMNS = [*PREDICTION_COLUMNS, "predicted_at", "run_id"]
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
    for scope in warehouse.batches_of_run(context.partition_keys):
        written: list[pd.DataFrame] = []
        figures: dict[str, dict[str, object]] = {}
        chosen: dict[str, tuple[str, RegisteredModel]] = {}
        for tenant_id in scope.tenant_ids:
            try:
                chosen_model, figures[tenant_id] = _choose_model(warehouse, scope, tenant_id, entries, models)
            except Exception as exc:  # one tenant's broken model must not stop the others
                figures[tenant_id] = _failed(context, failures, scope, tenant_id, exc)
                continue
            if chosen_model is not None:
                chosen[tenant_id] = chosen_model
        frames = population_frames(warehouse, scope, {t: model for t, (_, model) in chosen.items()})
        for tenant_id, (version, registered) in chosen.items():
            frame, left_out = frames[tenant_id]
            try:
                rows = prediction_rows(registered.model, frame, version, top_percent)
            except Exception as exc:
                figures[tenant_id] = _failed(context, failures, scope, tenant_id, exc)
                continue
            written.append(rows)
            figures[tenant_id] |= {
                "customers_predicted": len(rows),
                **left_out,
                "customers_with_drivers": int(rows["driver_1"].notna().sum()),
            }
        predicted = tuple(t for t in scope.tenant_ids if "error" not in figures[t])
        if predicted:
            no_rows = pd.DataFrame(columns=PREDICTION_COLUMNS)
            rows = pd.concat(written, ignore_index=True) if written else no_rows
            rows["predicted_at"] = datetime.now(UTC).isoformat()
            rows["run_id"] = context.run.run_id
            warehouse.replace_partition(
                "churn_predictions",
                DayScope(scope.as_of_date, predicted, scope.as_of),
                rows[TABLE_COLUMNS],
            )
        add_partition_metadata(context, scope.as_of_date, figures)
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


def _failed(
    context: dg.AssetExecutionContext,
    failures: dict[str, str],
    scope: DayScope,
    tenant_id: str,
    exc: Exception,
) -> dict[str, object]:
    """Records a tenant's failure for the check and returns its partition's metadata."""
    cause = one_line_cause(exc)
    failures[f"{scope.as_of_date} {tenant_id}"] = cause
    context.log.error(f"churn_predictions {scope.as_of_date} {tenant_id}: {cause}")
    return {"error": f"{cause}; its rows were left as they were"}


def _choose_model(
    warehouse: WarehouseResource,
    scope: DayScope,
    tenant_id: str,
    entries: dict[str, list[RegistryEntry]],
    models: dict[str, RegisteredModel | None],
) -> tuple[tuple[str, RegisteredModel] | None, dict[str, object]]:
    """The tenant's (model version, model) for the day, None without one, and its partition's
    metadata so far; ``entries`` and ``models`` cache the registry's answers for the run."""
    if tenant_id not in entries:
        entries[tenant_id] = tenant_entries(warehouse.engine, warehouse.analytics_schema, tenant_id)
    choice = model_for_day(entries[tenant_id], scope.as_of_date, scope.as_of)
    if choice.model_version is None:
        return None, {"customers_predicted": 0, "no_model": choice.reason}
    if choice.model_version not in models:
        models[choice.model_version] = load_model(
            warehouse.engine, warehouse.analytics_schema, choice.model_version
        )
    registered = models[choice.model_version]
    if registered is None or registered.model is None:
        raise LookupError(f"model {choice.model_version} is not a trained model in the registry")
    return (choice.model_version, registered), {
        "model_version": choice.model_version,
        "model_choice": choice.reason,
    }


def population_frames(
    warehouse: WarehouseResource, scope: DayScope, models: Mapping[str, RegisteredModel]
) -> dict[str, tuple[pd.DataFrame, dict[str, object]]]:
    """{tenant: (its training_frame rows of the day in the population its model learned from,
    the metadata counting who was left out)} for the batch's tenants with a model, each table
    read once for all of them. The population (the model's registry parameters): every
    customer ACTIVE that day (``all_active``), or those of them not already churned by the
    label's own definition (``at_risk``: an activity in the model's horizon before as_of, or
    created within it). A customer silent for the whole horizon has churned already: ranking it
    would fill the top of the list, and the model alerts, with customers gone, whom the model
    never learned from."""
    if not models:
        return {}
    tenants = tuple(models)
    batch = DayScope(scope.as_of_date, tenants, scope.as_of)
    status = warehouse.read_partition("customer_features", batch, ["tenant_id", "customer_id", "status"])
    active = status[status["status"].eq("ACTIVE")]
    kept: dict[str, set[str]] = {}
    for (population, horizon_days), group in _by_population(models).items():
        if population == AT_RISK_POPULATION:
            at_risk = at_risk_customers(
                warehouse.engine,
                population_table=warehouse.table("customer_features"),
                history_table=warehouse.table("profile_history"),
                activities_table=warehouse.source_table("activities"),
                as_of_date=scope.as_of_date,
                tenant_ids=group,
                as_of=scope.as_of,
                active_since=window_start(scope.as_of, horizon_days),
            )
            frame_of = at_risk
        else:
            frame_of = active[active["tenant_id"].isin(group)]
        for tenant_id in group:
            kept[tenant_id] = set()
        for tenant_id, customers in frame_of.groupby("tenant_id")["customer_id"]:
            kept[tenant_id] = set(customers)
    types = list(dict.fromkeys(t for model in models.values() for t in activity_types_of(model.features)))
    features = training_frame(warehouse.engine, load_settings(), tenants, [scope.as_of_date], types)
    by_tenant = dict(tuple(features.groupby("tenant_id", sort=False)))
    active_by_tenant = active.groupby("tenant_id")["customer_id"].apply(set).to_dict()
    frames = {}
    for tenant_id, registered in models.items():
        rows = by_tenant.get(tenant_id, features.iloc[0:0])
        frame = rows[rows["customer_id"].isin(kept[tenant_id])].reset_index(drop=True)
        frames[tenant_id] = (
            frame,
            {
                "population": _population(registered),
                "active_customers_left_out_as_already_churned": len(
                    active_by_tenant.get(tenant_id, set()) - kept[tenant_id]
                ),
            },
        )
    return frames


def _population(registered: RegisteredModel) -> str:
    return registered.parameters.get("config", {}).get("population", AT_RISK_POPULATION)


def _by_population(models: Mapping[str, RegisteredModel]) -> dict[tuple[str, int], list[str]]:
    """The tenants grouped by their model's (population, horizon_days): one query per group."""
    groups: dict[tuple[str, int], list[str]] = {}
    for tenant_id, registered in models.items():
        groups.setdefault((_population(registered), registered.horizon_days), []).append(tenant_id)
    return groups
