"""Labels for the learned churn model: did a customer ACTIVE on day D churn within the horizon?

The backtest's population and churn definition (outcomes.observed_churn), on the window
[as_of(D), as_of(D + horizon)): nothing before as_of(D) is read but the status of D. Only days
whose whole window has passed by ``observed_until`` are labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from crm_scoring.scope import churn_window, days_with_observed_horizon
from crm_scoring.warehouse.outcomes import observed_churn

LABEL_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "churned"]


def churn_labels(
    engine: Engine,
    *,
    features_table: str,
    history_table: str,
    activities_table: str,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    tz: ZoneInfo,
    observed_until: datetime,
    horizon_days: int = 60,
) -> pd.DataFrame:
    """(as_of_date, tenant_id, customer_id, churned) of every customer of ``features_table``
    (customer_features: the day's customers with their status of that day) ACTIVE on a day D of
    ``days``; churned within [as_of(D), as_of(D + horizon_days)) by the backtest's definition.

    Days whose window ends after ``observed_until`` (the instant up to which the CRM and the
    profile history were observed, e.g. the as_of of the latest captured day) have no rows:
    ``days_with_observed_horizon(days, horizon_days, observed_until, tz)`` (crm_scoring.scope)
    names the days labelled; the others were left out. One query per labelled day, tenant ids
    bound.
    """
    frames = []
    for day in days_with_observed_horizon(days, horizon_days, observed_until, tz):
        window_start, window_end = churn_window(day, horizon_days, tz)
        outcomes = observed_churn(
            engine,
            population_table=features_table,
            history_table=history_table,
            activities_table=activities_table,
            as_of_date=day,
            tenant_ids=tenant_ids,
            window_start=window_start,
            window_end=window_end,
        )
        frames.append(outcomes.assign(as_of_date=day)[LABEL_COLUMNS])
    if not frames:
        return pd.DataFrame(
            {"as_of_date": [], "tenant_id": [], "customer_id": [], "churned": pd.Series([], dtype=bool)}
        )
    return pd.concat(frames, ignore_index=True)
