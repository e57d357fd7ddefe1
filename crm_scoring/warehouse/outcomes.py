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
# A merge folds a duplicate into another profile: the customer stays, so it is no churn.
MERGED_STATUS = "MERGED"


def churn_outcomes(
    engine: Engine,
    *,
    scores_table: str,
    history_table: str,
    activities_table: str,
    as_of_date: date,
    tenant_ids: Sequence[str],
    window_start: datetime,
    window_end: datetime,
) -> pd.DataFrame:
    """(tenant_id, customer_id, churn_risk_score, churned) of every customer scored ACTIVE on
    ``as_of_date`` (its status in force then, by the point-in-time rules).

    Churned means, within [window_start, window_end), by the profile history (``history_table``,
    versions in force from their updated_at): a version took effect that is neither ACTIVE nor
    MERGED, or soft-deleted the profile; or the profile vanished from the CRM before the window
    closed; or the customer had no activity at all. Only the window is read: nothing before
    the scores' day, nothing after the window.
    """
    # The probes are one (customer_id, ...) index range per customer.
    query = text(
        f"""
        select scores.tenant_id, scores.customer_id, scores.churn_risk_score,
               (
                   exists (
                       select from {history_table} as versions
                       where versions.customer_id = scores.customer_id
                         and versions.dbt_valid_from >= :window_start
                         and versions.dbt_valid_from < :window_end
                         and (versions.status not in (:evaluated, :merged)
                              or versions.deleted_at < :window_end)
                   )
                   or coalesce(  -- its last version closed by a capture that no longer found it
                       (select max(coalesce(versions.dbt_valid_to, 'infinity'))
                        from {history_table} as versions
                        where versions.customer_id = scores.customer_id) < :window_end,
                       false  -- a customer the history never saw: no evidence
                   )
                   or not exists (
                       select from {activities_table} as activities
                       where activities.customer_id = scores.customer_id
                         and activities.occurred_at >= :window_start
                         and activities.occurred_at < :window_end
                   )
               ) as churned
        from {scores_table} as scores
        where scores.as_of_date = :as_of_date
          and scores.tenant_id = any(:tenants)
          and scores.status = :evaluated
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
                "merged": MERGED_STATUS,
            },
        )
