"""churn_model: weekly (and on demand) training of the learned churn model, per tenant where
a tenant has seen enough churn, pooled across tenants where not, else none; every outcome and
its validation figures land in the model registry (analytics.model_registry)."""

from datetime import UTC, date, datetime, timedelta
from functools import partial

import dagster as dg

from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.model.metrics import FIGURE_LABELS, FIGURES
from crm_scoring.model.split import labelled_month_ends
from crm_scoring.model.training import NO_MODEL, TrainedScope, train_churn_models_by_tenant
from crm_scoring.scope import as_of_instant
from crm_scoring.settings import (
    CHURN_MODEL_MIN_CHURNERS_ENV,
    CHURN_MODEL_MONTHS_ENV,
    CHURN_MODEL_POPULATION_ENV,
    churn_model_months,
    load_churn_model_config,
    load_settings,
)
from crm_scoring.warehouse.model_inputs import labelled_rows, training_labels
from crm_scoring.warehouse.model_registry import save_training_run

CHURN_MODEL_JOB_NAME = "churn_model_job"
_SCORERS = (
    ("model", "model"),
    ("baseline", "logistic baseline"),
    ("rule", "rule score"),
    ("naive_days_since_last_activity", "days since last activity (naive)"),
    ("naive_fewer_activities_30d", "fewer activities in 30 days (naive)"),
)


class ChurnModelRunConfig(dg.Config):
    """observed_until: the last day whose events count (YYYY-MM-DD); default yesterday in the
    partitions' time zone. Training on an earlier day reproduces an earlier training."""

    observed_until: str | None = None


@dg.asset(
    group_name="churn_model",
    deps=[dg.AssetKey("customer_scores")],
    description=(
        f"Trains the learned churn model on the last {CHURN_MODEL_MONTHS_ENV} (default 12) month-ends "
        "whose churn horizon has passed: a model per tenant with at least "
        f"{CHURN_MODEL_MIN_CHURNERS_ENV} (default 30) churners in its training range, else a pooled one, "
        "else none (with the reason). Validated out of time on the newest month-ends against a logistic "
        "baseline, the specification's churn_risk_score and naive predictors, with 95% bootstrap intervals, "
        f"all on the same customers: {CHURN_MODEL_POPULATION_ENV} (default at_risk: not already gone "
        "silent for the horizon). "
        "Registry: analytics.model_registry. See docs/churn-model.md."
    ),
)
def churn_model(
    context: dg.AssetExecutionContext, config: ChurnModelRunConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    settings, model_config = load_settings(), load_churn_model_config()
    population = model_config.population
    observed_until = (
        date.fromisoformat(config.observed_until)
        if config.observed_until
        else datetime.now(settings.tz).date() - timedelta(days=1)
    )
    days = labelled_month_ends(
        observed_until, horizon_days=model_config.horizon_days, count=churn_model_months()
    )
    tenant_ids = warehouse.tenant_ids()
    # dbt creates these on the first scoring run; before it, there is nothing labelled yet.
    scored_once = all(
        warehouse.relation_exists(warehouse.table(name))
        for name in (
            "customer_features",
            "customer_behaviour_features",
            "customer_activity_type_counts",
            "customer_scores",
            "profile_history",
        )
    )
    labels = training_labels(
        warehouse.engine,
        settings,
        tenant_ids,
        days if scored_once else [],
        # the end of observed_until: a month-end D is labelled when D + H <= observed_until
        observed_until=as_of_instant(observed_until, settings.tz),
        population=population,
    )
    context.log.info(
        f"{len(labels)} labelled customer-days ({population}) over {len(days)} month-ends, "
        f"{len(tenant_ids)} tenants"
    )
    scopes = train_churn_models_by_tenant(
        labels, partial(labelled_rows, warehouse.engine, settings), model_config, tenant_ids
    )
    versions = save_training_run(
        warehouse.engine,
        warehouse.analytics_schema,
        scopes,
        training_run=context.run.run_id,
        trained_at=datetime.now(UTC),
    )
    return dg.MaterializeResult(
        metadata={
            "observed_until": observed_until.isoformat(),
            "labelled_days": ", ".join(day.isoformat() for day in days),
            "population": population,
            "labelled_rows": len(labels),
            "models_trained": sum(scope.kind != NO_MODEL for scope in scopes),
            "model_versions": ", ".join(versions),
            "tenants": dg.MetadataValue.md(scopes_markdown(scopes)),
            "figures": dg.MetadataValue.md(figures_markdown(scopes)),
        }
    )


def scopes_markdown(scopes: list[TrainedScope]) -> str:
    """Per tenant: which model serves it and why."""
    rows = sorted(
        (tenant_id, scope.kind, scope.reasons[tenant_id])
        for scope in scopes
        for tenant_id in scope.tenant_ids
    )
    if not rows:
        return "No tenant."
    return "\n".join(
        [
            "| tenant | model | why |",
            "|---|---|---|",
            *(f"| {_cell(tenant)} | {kind} | {_cell(reason)} |" for tenant, kind, reason in rows),
        ]
    )


def figures_markdown(scopes: list[TrainedScope]) -> str:
    """Per tenant with a model, each figure for the model, the baseline, the rule score and the
    naive predictors on the validation days (all on the same rows: the model's population):
    value [95% interval]; churners counted as customer-days and as distinct customers."""
    lines = [
        "| tenant | validation | scorer | " + " | ".join(FIGURE_LABELS[name] for name in FIGURES) + " |",
        "|---|---|---|" + "--:|" * len(FIGURES),
    ]
    for scope in sorted(scopes, key=lambda scope: scope.tenant_ids):
        for tenant_id in scope.tenant_ids:
            figures = scope.metrics.get(tenant_id)
            if not figures:
                continue
            validation = (
                f"{figures['rows']} rows, {figures['churners']} churned customer-days "
                f"({figures['churned_customers']} customers)"
            )
            for key, label in _SCORERS:
                if key in figures:
                    cells = " | ".join(_estimate(figures[key][name]) for name in FIGURES)
                    lines.append(f"| {_cell(tenant_id)} | {validation} | {label} | {cells} |")
    return "\n".join(lines) if len(lines) > 2 else "No model trained."


def _estimate(estimate) -> str:
    if estimate.value is None:
        return "n/a"
    if estimate.low is None:
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


churn_model_job = dg.define_asset_job(
    CHURN_MODEL_JOB_NAME,
    selection=dg.AssetSelection.assets(churn_model),
    executor_def=dg.in_process_executor,
    description="Trains the churn model (registry: analytics.model_registry).",
)

weekly_churn_model = dg.ScheduleDefinition(
    name="weekly_churn_model",
    job=churn_model_job,
    cron_schedule="0 4 * * 1",
    execution_timezone=load_settings().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrains the churn model every Monday at 04:00, after the daily scoring.",
)
