"""Backtest of the churn score: did the customers it ranked high churn within the horizon?

Partition (D, tenant) evaluates the scores of D - horizon, whose outcome window closed at the
end of D. The figures go to two tables and, as Markdown charts, to the Dagster UI.
"""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.asset_helpers import alert_thresholds, evaluated_scope, scoring_config
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.backtest import TenantBacktests, tenant_backtests
from crm_scoring.scope import DayScope
from crm_scoring.settings import CHURN_HORIZON_ENV, load_settings
from crm_scoring.warehouse.outcomes import churn_outcomes

_BAR_WIDTH = 20
_EIGHTHS = "▏▎▍▌▋▊▉"  # 1/8 .. 7/8 of a full block


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="backtest",
    deps=[dg.AssetKey("customer_scores")],
    description=(
        f"Partition D evaluates the churn scores of D - {CHURN_HORIZON_ENV} (default 60) days against what "
        "happened since: a customer scored ACTIVE churned if it had no activity in the window, or its "
        "profile was deleted or set INACTIVE in it. Per tenant: AUC, precision and recall at the "
        "tenant's alert threshold (churn.alert_threshold, 80 by default), top-decile lift, "
        "calibration by churn-risk band. Tables "
        "analytics.churn_backtest and analytics.churn_backtest_calibration."
    ),
)
def churn_backtest(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    horizon = load_settings().churn_horizon_days
    configs = scoring_config(context)
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("churn_backtest", [scope]):
            evaluated = evaluated_scope(scope, horizon)
            outcomes = churn_outcomes(
                warehouse.engine,
                scores_table=warehouse.table("customer_scores"),
                history_table=warehouse.table("profile_history"),
                activities_table=warehouse.source_table("activities"),
                as_of_date=evaluated.as_of_date,
                tenant_ids=scope.tenant_ids,
                window_start=evaluated.as_of,
                window_end=scope.as_of,
            )
            thresholds = alert_thresholds(configs, scope.tenant_ids)
            backtests = tenant_backtests(outcomes, thresholds)
            figures = backtests.figures.assign(
                horizon_days=horizon,
                computed_at=datetime.now(UTC),
                run_id=context.run.run_id,
            )
            for table, rows in (
                ("churn_backtest", figures),
                ("churn_backtest_calibration", backtests.calibration.copy()),
            ):
                rows.insert(0, "as_of_date", scope.as_of_date)
                rows.insert(2, "evaluated_as_of_date", evaluated.as_of_date)
                warehouse.replace_partition(table, scope, rows)
            add_partition_metadata(
                context,
                scope.as_of_date,
                {
                    tenant_id: _tenant_metadata(
                        evaluated, _of_tenant(backtests, tenant_id), thresholds[tenant_id]
                    )
                    for tenant_id in scope.tenant_ids
                },
            )
    return dg.MaterializeResult(
        metadata={"horizon_days": horizon, "duration_seconds": round(time.monotonic() - started, 3)}
    )


def _of_tenant(backtests: TenantBacktests, tenant_id: str) -> TenantBacktests:
    frames = (backtests.figures, backtests.calibration, backtests.lift_curve)
    return TenantBacktests(*(frame[frame["tenant_id"] == tenant_id] for frame in frames))


def _tenant_metadata(evaluated: DayScope, backtests: TenantBacktests, threshold: int) -> dict[str, object]:
    """One partition's figures; for a tenant with no ACTIVE customer scored on the evaluated
    day, why nothing was recorded."""
    sections = [(evaluated, backtests)]
    metadata: dict[str, object] = {
        "alert_threshold": threshold,
        "evaluated_as_of_date": evaluated.as_of_date.isoformat(),
        "customers_evaluated": int(backtests.figures["customers"].sum()),
        "figures": dg.MetadataValue.md(_figures_markdown(sections)),
        "calibration": dg.MetadataValue.md(_calibration_markdown(sections)),
        "lift_curve": dg.MetadataValue.md(_lift_markdown(sections)),
    }
    if backtests.figures.empty:
        metadata["not_evaluated"] = "no ACTIVE customer scored on the evaluated day, nothing recorded"
    return metadata


def _figures_markdown(sections: list[tuple[DayScope, TenantBacktests]]) -> str:
    lines = [
        "| scores of | tenant | customers | churned | churn rate | AUC | threshold | alerted "
        "| precision | recall | top-decile lift |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for evaluated, backtests in sections:
        for row in backtests.figures.itertuples():
            lines.append(
                f"| {evaluated.as_of_date} | {_cell(row.tenant_id)} | {row.customers} | {row.churned} "
                f"| {_percent(row.churn_rate)} | {_decimal(row.auc, 3)} | {row.alert_threshold} "
                f"| {row.alerted} "
                f"| {_percent(row.precision_at_threshold)} | {_percent(row.recall_at_threshold)} "
                f"| {_decimal(row.top_decile_lift, 2, 'x')} |"
            )
    if len(lines) == 2:
        return "No customer to evaluate."
    notes = [
        f"- {_cell(row.tenant_id)}, scores of {evaluated.as_of_date}: {row.why_undefined}"
        for evaluated, backtests in sections
        for row in backtests.figures.itertuples()
        if isinstance(row.why_undefined, str)
    ]
    return "\n".join([*lines, *(["", "n/a because:", *notes] if notes else [])])


def _calibration_markdown(sections: list[tuple[DayScope, TenantBacktests]]) -> str:
    """Observed churn per churn-risk band: it should rise from low to critical."""
    parts = []
    for evaluated, backtests in sections:
        for tenant_id, bands in backtests.calibration.groupby("tenant_id", sort=True):
            parts += [
                f"**{_cell(tenant_id)}**, scores of {evaluated.as_of_date}",
                "",
                "| band | scores | customers | mean score | churned | observed churn | |",
                "|---|---|--:|--:|--:|--:|---|",
                *(
                    f"| {row.band} | {row.min_score}-{row.max_score} | {row.customers} "
                    f"| {_decimal(row.mean_score, 1)} | {row.churned} | {_percent(row.churn_rate)} "
                    f"| {_bar(row.churn_rate)} |"
                    for row in bands.itertuples()
                ),
                "",
            ]
    return "\n".join(parts) or "No customer to evaluate."


def _lift_markdown(sections: list[tuple[DayScope, TenantBacktests]]) -> str:
    """Cumulative gains: the share of all churners found in the top x% by churn risk."""
    parts = []
    for evaluated, backtests in sections:
        for tenant_id, curve in backtests.lift_curve.groupby("tenant_id", sort=True):
            parts += [
                f"**{_cell(tenant_id)}**, scores of {evaluated.as_of_date}",
                "",
                "| top by churn risk | customers | churners in it | share of all churners | | lift |",
                "|--:|--:|--:|--:|---|--:|",
                *(
                    f"| {row.decile * 10}% | {row.customers:g} | {row.churners_captured:.4g} "
                    f"| {_percent(row.capture_rate)} | {_bar(row.capture_rate)} "
                    f"| {_decimal(row.lift, 2, 'x')} |"
                    for row in curve.itertuples()
                ),
                "",
            ]
    return "\n".join(parts) or "No customer to evaluate."


def _bar(fraction: float | None) -> str:
    if pd.isna(fraction):
        return ""
    eighths = round(fraction * _BAR_WIDTH * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8 - 1] if eighths % 8 else "")


def _percent(value: float | None) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1%}"


def _decimal(value: float | None, digits: int, unit: str = "") -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}{unit}"


def _cell(text: str) -> str:
    """Tenant ids may hold "|" (see README, awkward tenant ids): it would split a table cell."""
    return text.replace("|", "\\|")
