"""Labels for the learned churn model: did a customer ACTIVE on day D churn within the horizon?

The backtest's churn definition (outcomes.observed_churn), on the window
[as_of(D), as_of(D + horizon)): the label reads nothing before as_of(D). The population is the
backtest's (every customer ACTIVE on D: ``all_active``) or the customers at risk on D
(``at_risk``): those not already churned by the same definition on the horizon before as_of(D)
(an activity in [as_of(D) - horizon, as_of(D)), or created within it). Only days whose whole
window has passed by ``observed_until`` are labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from crm_scoring.scope import churn_window, days_with_observed_horizon, window_start
from crm_scoring.settings import AT_RISK_POPULATION, CHURN_MODEL_POPULATIONS
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
    population: str = AT_RISK_POPULATION,
) -> pd.DataFrame:
    """(as_of_date, tenant_id, customer_id, churned) of every customer of ``features_table``
    (customer_features: the day's customers with their status of that day) ACTIVE on a day D of
    ``days``; churned within [as_of(D), as_of(D + horizon_days)) by the backtest's definition.

    Days whose window ends after ``observed_until`` (the instant up to which the CRM and the
    profile history were observed, e.g. the as_of of the latest captured day) have no rows:
    ``days_with_observed_horizon(days, horizon_days, observed_until, tz)`` (crm_scoring.scope)
    names the days labelled; the others were left out. ``population`` (settings.
    CHURN_MODEL_POPULATIONS): ``at_risk`` keeps only the customers not already churned before
    as_of(D) (module docstring); ``all_active`` every ACTIVE one. One query per labelled day,
    tenant ids bound.
    """
    if population not in CHURN_MODEL_POPULATIONS:
        raise ValueError(f"population {population!r} is not one of {', '.join(CHURN_MODEL_POPULATIONS)}")
    frames = []
    for day in days_with_observed_horizon(days, horizon_days, observed_until, tz):
        as_of, window_end = churn_window(day, horizon_days, tz)
        outcomes = observed_churn(
            engine,
            population_table=features_table,
            history_table=history_table,
            activities_table=activities_table,
            as_of_date=day,
            tenant_ids=tenant_ids,
            window_start=as_of,
            window_end=window_end,
            active_since=window_start(as_of, horizon_days) if population == AT_RISK_POPULATION else None,
        )
        frames.append(outcomes.assign(as_of_date=day)[LABEL_COLUMNS])
    if not frames:
        return pd.DataFrame(
            {"as_of_date": [], "tenant_id": [], "customer_id": [], "churned": pd.Series([], dtype=bool)}
        )
    return pd.concat(frames, ignore_index=True)
