"""Charts for the Dagster UI, small PNGs: bar charts of the distribution tables, and the ROC and
calibration curves of the rule score against the learned model (churn_model_backtest).

Pure (no Dagster, no database): the distribution assets pass the rows they wrote and put the
Markdown this returns in each partition's materialization metadata.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

# Figure + FigureCanvasAgg rather than pyplot: no global backend or figure registry, so
# rendering in a Dagster step process never needs a display and never leaks figures.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crm_scoring.rules.distributions import CHURN_RISK_BANDS

# Small: ~8 kB of PNG (11 kB base64) each, so a run's capped charts add ~135 kB to the event log.
FIGSIZE_INCHES = (4.0, 2.5)
DPI = 80
# PNG charts per run: a backfill of many tenants and days must not render thousands.
MAX_CHARTS = 12
_TITLE_CHARS = 24  # what fits beside the kind and the date in a 4-inch title


@dataclass(frozen=True)
class BarChart:
    """One tenant's distribution on one day: a bar per bucket or band, its height the count."""

    kind: str
    as_of_date: str
    tenant_id: str
    labels: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def title(self) -> str:
        tenant = self.tenant_id
        if len(tenant) > _TITLE_CHARS:
            tenant = tenant[:_TITLE_CHARS] + "…"
        return f"{tenant} · {self.as_of_date}"


def engagement_charts(rows: pd.DataFrame) -> list[BarChart]:
    """From analytics.engagement_distribution rows: a chart per (as_of_date, tenant), buckets
    in their order (High … Inactive)."""
    ordered = rows.sort_values(["as_of_date", "tenant_id", "bucket_order"])
    return [
        BarChart(
            kind="engagement",
            as_of_date=str(as_of_date),
            tenant_id=str(tenant_id),
            labels=tuple(group["label"].map(_short_label)),
            counts=tuple(int(count) for count in group["customer_count"]),
        )
        for (as_of_date, tenant_id), group in ordered.groupby(["as_of_date", "tenant_id"], sort=False)
    ]


def churn_risk_charts(rows: pd.DataFrame) -> list[BarChart]:
    """From analytics.churn_risk_overview rows: a chart per (as_of_date, tenant), a bar per band
    (critical … low; the total is the bars' sum, not a bar)."""
    bands = [band.name for band in CHURN_RISK_BANDS]
    return [
        BarChart(
            kind="churn risk",
            as_of_date=str(row["as_of_date"]),
            tenant_id=str(row["tenant_id"]),
            labels=tuple(bands),
            counts=tuple(int(row[band]) for band in bands),
        )
        for _, row in rows.sort_values(["as_of_date", "tenant_id"]).iterrows()
    ]


def _short_label(label: str) -> str:
    # "High (70-100)" -> "High": the ranges are in the asset description, and four full
    # labels do not fit under a 4-inch chart.
    return label.split(" (", 1)[0]


def largest(charts: Sequence[AnyChart], limit: int = MAX_CHARTS) -> list[AnyChart]:
    """The ``limit`` charts with the most customers (ties: latest day, then tenant id), in
    that order: the tenants someone is most likely to look for."""
    ranked = sorted(charts, key=lambda chart: chart.tenant_id)
    ranked.sort(key=lambda chart: (chart.total, chart.as_of_date), reverse=True)  # stable: ids stay in order
    return ranked[:limit]


def render_png(chart: BarChart) -> bytes:
    """The chart as a FIGSIZE_INCHES PNG at DPI, counts written above the bars."""
    figure = Figure(figsize=FIGSIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.bar(chart.labels, chart.counts, color="#4878a8")
    axes.bar_label(bars, fontsize=8)
    # Room above the tallest bar for its label; an all-zero tenant still gets a sane axis.
    axes.set_ylim(0, max(1, max(chart.counts, default=0)) * 1.2)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # customers come whole
    # parse_math=False: a tenant id with "$" must not be read as TeX.
    axes.set_title(f"{chart.kind}: {chart.title}", fontsize=9, parse_math=False)
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    # A fixed size, not bbox_inches="tight": the image dimensions are what was asked for.
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def partition_pictures(charts: Sequence[BarChart], limit: int = MAX_CHARTS) -> dict[tuple[str, str], str]:
    """{(as_of_date, tenant_id): Markdown for that partition}: the chart as an embedded PNG for
    the run's ``limit`` largest tenant-days, the counts as a table for the others (a backfill
    of many tenants and days must not render thousands of images)."""
    drawn = {(chart.as_of_date, chart.tenant_id) for chart in largest(charts, limit)}
    return {
        (chart.as_of_date, chart.tenant_id): _png_markdown(chart)
        if (chart.as_of_date, chart.tenant_id) in drawn
        else _table_markdown(chart, limit)
        for chart in charts
    }


def _png_markdown(chart: BarChart) -> str:
    return f"![{chart.kind}](data:image/png;base64,{base64.b64encode(render_png(chart)).decode('ascii')})"


def _table_markdown(chart: BarChart, limit: int) -> str:
    return "\n".join(
        [
            f"{chart.kind}: {chart.title} (drawn only for the {limit} largest tenant-days of a run)",
            "",
            "| " + " | ".join(chart.labels) + " |",
            "|" + "--:|" * len(chart.labels),
            "| " + " | ".join(str(count) for count in chart.counts) + " |",
        ]
    )


# The comparison charts: two panels side by side, the same small PNG budget per panel.
COMPARISON_FIGSIZE_INCHES = (8.0, 3.2)
_SCORER_STYLE = {"rule": ("#b0603a", "rule score"), "model": ("#4878a8", "model")}


@dataclass(frozen=True)
class ComparisonChart:
    """One tenant-day of churn_model_backtest: per scorer its ROC curve and reliability bins."""

    as_of_date: str
    tenant_id: str
    evaluated_as_of_date: str  # the day whose predictions and scores are judged
    total: int  # customers judged
    roc: Mapping[str, tuple[Sequence[float], Sequence[float]]]  # {scorer: (fpr, tpr)}
    auc: Mapping[str, float | None]
    reliability: Mapping[str, pd.DataFrame]  # {scorer: predicted, observed, customers per bin}

    @property
    def title(self) -> str:
        return BarChart("", self.as_of_date, self.tenant_id, (), ()).title


AnyChart = TypeVar("AnyChart", BarChart, ComparisonChart)


def render_comparison_png(chart: ComparisonChart) -> bytes:
    """ROC curves (left) and the reliability diagram (right) of both scorers, as a PNG."""
    figure = Figure(figsize=COMPARISON_FIGSIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    roc, calibration = figure.subplots(1, 2)
    for axes in (roc, calibration):
        axes.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle=":")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.tick_params(labelsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    for scorer, (color, label) in _SCORER_STYLE.items():
        fpr, tpr = chart.roc[scorer]
        auc = chart.auc[scorer]
        roc.plot(fpr, tpr, color=color, label=label + ("" if auc is None else f" (AUC {auc:.3f})"))
        bins = chart.reliability[scorer]
        calibration.plot(
            bins["predicted"], bins["observed"], color=color, marker="o", markersize=3, label=label
        )
    roc.set_xlabel("false-positive rate", fontsize=8)
    roc.set_ylabel("true-positive rate", fontsize=8)
    roc.legend(fontsize=7, loc="lower right", frameon=False)
    # parse_math=False: a tenant id with "$" must not be read as TeX.
    roc.set_title(f"ROC: {chart.title}", fontsize=9, parse_math=False)
    calibration.set_xlabel("predicted churn probability", fontsize=8)
    calibration.set_ylabel("observed churn rate", fontsize=8)
    calibration.set_title(f"calibration, predictions of {chart.evaluated_as_of_date}", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def comparison_pictures(
    charts: Sequence[ComparisonChart], limit: int = MAX_CHARTS
) -> dict[tuple[str, str], str]:
    """{(as_of_date, tenant_id): Markdown}: the PNG for the run's ``limit`` tenant-days with the
    most customers (ties: latest day, then tenant id), a note for the others."""
    drawn = {(chart.as_of_date, chart.tenant_id) for chart in largest(charts, limit)}
    return {
        (chart.as_of_date, chart.tenant_id): (
            f"![ROC and calibration](data:image/png;base64,"
            f"{base64.b64encode(render_comparison_png(chart)).decode('ascii')})"
            if (chart.as_of_date, chart.tenant_id) in drawn
            else f"drawn only for the {limit} largest tenant-days of a run: see the figures table"
        )
        for chart in charts
    }
