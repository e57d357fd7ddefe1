"""What became of scored customers: the observed churn outcome the backtest compares scores with.

One set-based query per (day, tenants): tenant ids and instants are bound parameters; table
names are schema-qualified from validated settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, text

EVALUATED_STATUS = "ACTIVE"
INACTIVE_STATUS = "INACTIVE"


def churn_outcomes(
    engine: Engine,
    *,
    scores_table: str,
    profiles_table: str,
    activities_table: str,
    as_of_date: date,
    tenant_ids: Sequence[str],
    window_start: datetime,
    window_end: datetime,
) -> pd.DataFrame:
    """(tenant_id, customer_id, churn_risk_score, churned) of every customer scored ACTIVE on
    ``as_of_date`` whose profile existed before ``window_start`` (the day's as_of).

    Churned means, within [window_start, window_end): no activity at all, or the profile was
    deleted (``deleted_at`` before the window closed, or the profile is gone), or it is INACTIVE
    now and was last updated inside the window. Profiles keep only their current state, so an
    INACTIVE profile updated again after the window counts only through its activity.
    """
    # The activity probe is one (customer_id, occurred_at) index range per customer.
    query = text(
        f"""
        select scores.tenant_id, scores.customer_id, scores.churn_risk_score,
               coalesce(
                   profiles.id is null
                   or profiles.deleted_at < :window_end
                   or (profiles.status = :inactive
                       and profiles.updated_at >= :window_start and profiles.updated_at < :window_end)
                   or not exists (
                       select from {activities_table} as activities
                       where activities.customer_id = scores.customer_id
                         and activities.occurred_at >= :window_start
                         and activities.occurred_at < :window_end
                   ),
                   false  -- a null (no deleted_at, say) is no evidence of churn
               ) as churned
        from {scores_table} as scores
        left join {profiles_table} as profiles on profiles.id = scores.customer_id
        where scores.as_of_date = :as_of_date
          and scores.tenant_id = any(:tenants)
          and scores.status = :evaluated
          and (profiles.id is null or profiles.created_at < :window_start)
        order by scores.tenant_id, scores.customer_id
        """
    )
    with engine.connect() as connection:
        return pd.read_sql_query(
            query,
            connection,
            params={
                "as_of_date": as_of_date,
                "tenants": list(tenant_ids),
                "window_start": window_start,
                "window_end": window_end,
                "evaluated": EVALUATED_STATUS,
                "inactive": INACTIVE_STATUS,
            },
        )
