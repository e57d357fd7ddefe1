"""Bar charts of the distribution tables for the Dagster UI: counts in, small PNGs out.

Pure (no Dagster, no database): the distribution assets pass the rows they wrote and put the
Markdown this returns in each partition's materialization metadata.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

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


def largest(charts: Sequence[BarChart], limit: int = MAX_CHARTS) -> list[BarChart]:
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
