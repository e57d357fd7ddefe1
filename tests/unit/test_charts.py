"""The distribution charts: the bars are the table's counts, the PNG is the size asked for."""

import base64
import re
import struct

import pandas as pd

from crm_scoring.charts import (
    DPI,
    FIGSIZE_INCHES,
    BarChart,
    churn_risk_charts,
    engagement_charts,
    largest,
    partition_pictures,
    render_png,
)
from crm_scoring.rules.distributions import churn_risk_overview_rows, engagement_distribution_rows

SCORES = pd.DataFrame(
    {
        "tenant_id": ["acme", "acme", "acme", "acme", "globex", "acme"],
        "status": ["ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "MERGED"],
        "engagement_score": [90, 75, 50, 0, 10, 90],
        "churn_risk_score": [85, 10, 65, 35, 29, 85],
    }
)


def _rows(summarise, day: str = "2026-03-15") -> pd.DataFrame:
    rows = summarise(SCORES, ["acme", "globex", "initech"])
    rows.insert(0, "as_of_date", day)
    return rows


def test_engagement_bars_are_the_bucket_counts_in_bucket_order() -> None:
    charts = {chart.tenant_id: chart for chart in engagement_charts(_rows(engagement_distribution_rows))}
    assert charts["acme"].labels == ("High", "Medium", "Low", "Inactive")
    assert charts["acme"].counts == (2, 1, 0, 1)  # the MERGED customer is not counted
    assert charts["globex"].counts == (0, 0, 1, 0)
    assert charts["initech"].counts == (0, 0, 0, 0)  # a tenant with no customers still gets a chart
    assert charts["acme"].title == "acme · 2026-03-15"


def test_churn_risk_bars_are_the_band_counts_without_the_total() -> None:
    charts = {chart.tenant_id: chart for chart in churn_risk_charts(_rows(churn_risk_overview_rows))}
    assert charts["acme"].labels == ("critical", "high", "medium", "low")
    assert charts["acme"].counts == (1, 1, 1, 1)
    assert charts["globex"].counts == (0, 0, 0, 1)


def _chart(tenant: str, total: int, day: str = "2026-03-15") -> BarChart:
    return BarChart("engagement", day, tenant, ("High", "Low"), (total, 0))


def test_largest_keeps_the_biggest_tenants_latest_day_first() -> None:
    charts = [_chart("b", 5), _chart("a", 5), _chart("c", 9), _chart("a", 5, "2026-03-16"), _chart("d", 1)]
    assert [(c.tenant_id, c.as_of_date) for c in largest(charts, 4)] == [
        ("c", "2026-03-15"),
        ("a", "2026-03-16"),
        ("a", "2026-03-15"),
        ("b", "2026-03-15"),
    ]


def test_png_decodes_at_the_requested_size() -> None:
    png = render_png(_chart("acme$|evil", 7))  # "$" must not be read as TeX
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, chunk, width, height = struct.unpack(">I4sII", png[8:24])
    assert (length, chunk) == (13, b"IHDR")
    assert (width, height) == (FIGSIZE_INCHES[0] * DPI, FIGSIZE_INCHES[1] * DPI)  # 320 x 200
    assert len(png) < 20_000


def test_each_partition_gets_its_chart_the_largest_as_png_the_rest_as_counts() -> None:
    charts = [_chart(f"t{i:02}", i) for i in range(5)]
    pictures = partition_pictures(charts, limit=3)
    assert set(pictures) == {("2026-03-15", f"t{i:02}") for i in range(5)}
    for tenant in ("t04", "t03", "t02"):  # the 3 largest: 4, 3 and 2 customers
        [image] = re.findall(
            r"^!\[engagement\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)$", pictures["2026-03-15", tenant]
        )
        assert base64.b64decode(image).startswith(b"\x89PNG")
    # t01: its own counts, no image
    assert "data:image" not in pictures["2026-03-15", "t01"]
    assert pictures["2026-03-15", "t01"].endswith("| 1 | 0 |")
