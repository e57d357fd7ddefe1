"""churn_model_backtest: the specification's score and the learned model side by side, out of
time, on the same customers with the same labels (issue 11, item 5).

A sibling of churn_backtest rather than more of it: that one judges every ACTIVE customer's
rule score with rule-only figures (precision at the threshold, bands) and needs no model; this
one exists only where churn_predictions does, on the model's population, with the model's
figures and intervals for both scorers. Partition D judges the predictions and scores of
D - horizon, whose outcome window closed at the end of D, as churn_backtest does.
"""

import time
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd

from crm_scoring.charts import ComparisonChart, comparison_pictures
from crm_scoring.defs.asset_helpers import evaluated_scope, scoring_config
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.model.comparison import (
    COMPARISON_COLUMNS,
    FIGURE_COLUMNS,
    MODEL,
    RULE,
    SCORERS,
    Comparison,
    compare,
    figure_columns,
    in_sample_reason,
    reliability,
    roc_points,
)
from crm_scoring.model.metrics import FIGURE_LABELS, FIGURES, Estimate
from crm_scoring.rules.config import ScoringConfigFile
from crm_scoring.scope import DayScope
from crm_scoring.settings import CHURN_HORIZON_ENV, load_churn_model_config, load_settings
from crm_scoring.warehouse.model_inputs import training_labels
from crm_scoring.warehouse.model_registry import learned_ranges

Ranges = dict[str, tuple[tuple, tuple, int]]
_COLUMNS = ["tenant_id", "evaluated_as_of_date", "scorer", "model_version", "population", "customers",
            "churned", "alert_budget_percent", *FIGURE_COLUMNS]  # fmt: skip


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="backtest",
    deps=[dg.AssetKey("customer_scores"), dg.AssetKey("churn_predictions")],
    description=(
        f"Partition D judges the churn_predictions and the churn_risk_score of D - "
        f"{CHURN_HORIZON_ENV} (default 60) days on the same customers (the model's population, "
        "CRM_SCORING_CHURN_MODEL_POPULATION) with the same labels: AUC, PR-AUC, top-decile lift, "
        "recall at the tenant's alert budget (churn.model_alert.top_percent, else 5%), Brier and "
        "ECE, each with a 95% bootstrap interval, and ROC and calibration charts. Only out of "
        "time: a day the model trained or validated on (or whose events its labels read) is not "
        "reported, and the partition says so. Table analytics.churn_model_backtest. See "
        "docs/backtest.md."
    ),
)
def churn_model_backtest(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    started = time.monotonic()
    horizon = load_settings().churn_horizon_days
    configs = scoring_config(context)
    ranges: Ranges = {}
    charts: list[ComparisonChart] = []
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("churn_model_backtest", [scope]):
            rows, metadata, day_charts = _judge_day(warehouse, scope, horizon, configs, ranges)
            rows = rows.assign(horizon_days=horizon, computed_at=datetime.now(UTC), run_id=context.run.run_id)
            rows.insert(0, "as_of_date", scope.as_of_date)
            warehouse.replace_partition("churn_model_backtest", scope, rows)
            add_partition_metadata(context, scope.as_of_date, metadata)
            charts.extend(day_charts)
    pictures = comparison_pictures(charts)
    for (day, tenant_id), markdown in pictures.items():
        add_partition_metadata(
            context,
            date.fromisoformat(day),
            {tenant_id: {"charts": dg.MetadataValue.md(markdown)}},
        )
    return dg.MaterializeResult(
        metadata={"horizon_days": horizon, "duration_seconds": round(time.monotonic() - started, 3)}
    )


def _judge_day(
    warehouse: WarehouseResource, scope: DayScope, horizon: int, configs: ScoringConfigFile, ranges: Ranges
) -> tuple[pd.DataFrame, dict[str, dict[str, object]], list[ComparisonChart]]:
    """The day's table rows (two per tenant judged), each tenant's metadata, the charts."""
    model_config = load_churn_model_config()
    evaluated = evaluated_scope(scope, horizon)
    predictions = warehouse.read_partition(
        "churn_predictions",
        evaluated,
        ["tenant_id", "customer_id", "churn_probability", "churn_rank", "model_version"],
    )
    unknown = sorted(set(predictions["model_version"]) - set(ranges))
    if unknown:
        ranges.update(learned_ranges(warehouse.engine, warehouse.analytics_schema, unknown))
    metadata: dict[str, dict[str, object]] = {}
    judged: dict[str, str] = {}  # tenant -> model_version
    for tenant_id in scope.tenant_ids:
        versions = sorted(set(predictions.loc[predictions["tenant_id"] == tenant_id, "model_version"]))
        metadata[tenant_id] = {"evaluated_as_of_date": evaluated.as_of_date.isoformat()}
        reason = _not_judged(evaluated, versions, ranges)
        if reason:
            metadata[tenant_id]["not_evaluated"] = reason
        else:
            judged[tenant_id] = versions[0]
    rows: list[dict[str, object]] = []
    charts: list[ComparisonChart] = []
    if judged:
        tenants = sorted(judged)
        labels = training_labels(
            warehouse.engine,
            load_settings(),
            tenants,
            [evaluated.as_of_date],
            observed_until=scope.as_of,
            population=model_config.population,
        )
        scores = warehouse.read_partition(
            "customer_scores",
            DayScope(evaluated.as_of_date, tuple(tenants), evaluated.as_of),
            ["tenant_id", "customer_id", "churn_risk_score"],
        )
        joined = labels.merge(scores, on=["tenant_id", "customer_id"]).merge(
            predictions, on=["tenant_id", "customer_id"]
        )
        for tenant_id in tenants:
            population = joined[joined["tenant_id"] == tenant_id].reset_index(drop=True)
            budget = _budget_percent(configs, tenant_id, model_config.alert_budget_percent)
            comparison = compare(
                population[COMPARISON_COLUMNS],
                budget_fraction=budget / 100,
                replicates=model_config.bootstrap_replicates,
                seed=model_config.seed,
                folds=model_config.calibration_folds,
            )
            labelled = int((labels["tenant_id"] == tenant_id).sum())
            common = {
                "tenant_id": tenant_id,
                "evaluated_as_of_date": evaluated.as_of_date,
                "model_version": judged[tenant_id],
                "population": model_config.population,
                "customers": comparison.customers,
                "churned": comparison.churned,
                "alert_budget_percent": budget,
            }
            rows += [
                {**common, "scorer": scorer, **figure_columns(comparison.figures[scorer])}
                for scorer in SCORERS
            ]
            metadata[tenant_id] |= {
                "model_version": judged[tenant_id],
                "population": model_config.population,
                "customers_compared": comparison.customers,
                "churned": comparison.churned,
                # labelled customers the model did not predict (or the rule did not score)
                "labelled_not_compared": labelled - comparison.customers,
                "alert_budget_percent": budget,
                "figures": dg.MetadataValue.md(_figures_markdown(comparison, budget)),
            }
            charts.append(_chart(str(scope.as_of_date), str(evaluated.as_of_date), tenant_id, comparison))
    return pd.DataFrame(rows, columns=_COLUMNS), metadata, charts


def _not_judged(evaluated: DayScope, versions: list[str], ranges: Ranges) -> str | None:
    day = evaluated.as_of_date
    if not versions:
        return f"no churn_predictions on {day} (see that partition of churn_predictions for why)"
    if len(versions) > 1:  # one replace_partition per tenant-day writes one model's rows
        return f"churn_predictions on {day} come from several models ({', '.join(versions)})"
    if versions[0] not in ranges:
        return f"model {versions[0]} that predicted {day} is no longer in the registry"
    in_sample = in_sample_reason(day, *ranges[versions[0]])
    return f"model {versions[0]}: {in_sample}" if in_sample else None


def _budget_percent(configs: ScoringConfigFile, tenant_id: str, default: float) -> float:
    """The tenant's top_percent budget; a tenant alerting by probability threshold (or not by the
    model) is judged at the model's default budget."""
    top_percent = configs.config_for(tenant_id).churn.model_alert.top_percent
    return float(top_percent) if top_percent is not None else default


def _chart(day: str, evaluated_day: str, tenant_id: str, comparison: Comparison) -> ComparisonChart:
    return ComparisonChart(
        as_of_date=day,
        tenant_id=tenant_id,
        evaluated_as_of_date=evaluated_day,
        total=comparison.customers,
        roc={s: roc_points(comparison.ranking[s], comparison.outcomes) for s in SCORERS},
        auc={s: comparison.figures[s]["auc"].value for s in SCORERS},
        reliability={s: reliability(comparison.probabilities[s], comparison.outcomes) for s in SCORERS},
    )


def _figures_markdown(comparison: Comparison, budget: float) -> str:
    lines = [
        f"{comparison.customers} customers, {comparison.churned} churned; alert budget {budget:g}%",
        "",
        "| figure | rule score | model | model - rule |",
        "|---|--:|--:|--:|",
    ]
    for name in FIGURES:
        rule, model = comparison.figures[RULE][name], comparison.figures[MODEL][name]
        difference = (
            "n/a" if rule.value is None or model.value is None else f"{model.value - rule.value:+.3f}"
        )
        lines.append(f"| {FIGURE_LABELS[name]} | {_estimate(rule)} | {_estimate(model)} | {difference} |")
    return "\n".join(lines)


def _estimate(estimate: Estimate) -> str:
    if estimate.value is None:
        return "n/a"
    if estimate.low is None:
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} ({estimate.low:.3f} to {estimate.high:.3f})"
