"""The churn model's training rows from what the scoring graph already stores: the
specification's point-in-time features (customer_features), the rule's score and the observed
outcome (outcomes.churn_outcomes, the backtest's definition of churn).

Profile fields of customer_features (lifetime value, opt-ins, the last email open) are not read:
for earlier days they may come from a later version of the profile (docs/point-in-time.md).
The behaviour features of issue 11 (customer_behaviour_features, the per-type activity counts)
replace this reader through warehouse/model_inputs.training_frame once they are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, text

from crm_scoring.scope import as_of_instant
from crm_scoring.warehouse.outcomes import churn_outcomes

# Counts over windows that end at as_of: events strictly before it only.
_FEATURES = """
    activity_count_30d, activity_count_90d, campaign_sent_30d, campaign_opened_30d,
    campaign_clicked_30d, payment_failed_90d, payment_received_90d, complaints_90d,
    extract(epoch from (as_of - last_activity_at)) / 86400.0 as days_since_last_activity,
    case when latest_tier_change_reason = 'downgrade' then 1.0 else 0.0 end as tier_downgraded_180d
"""


def rule_feature_training_frame(
    engine: Engine,
    *,
    features_table: str,
    scores_table: str,
    history_table: str,
    activities_table: str,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    horizon_days: int,
    tz: ZoneInfo,
) -> pd.DataFrame:
    """(as_of_date, tenant_id, customer_id, churned, churn_risk_score, features...) of every
    customer scored ACTIVE on each of ``days``, labelled over [as_of, as_of + horizon)."""
    frames = []
    for day in days:
        as_of = as_of_instant(day, tz)
        outcomes = churn_outcomes(
            engine,
            scores_table=scores_table,
            history_table=history_table,
            activities_table=activities_table,
            as_of_date=day,
            tenant_ids=tenant_ids,
            window_start=as_of,
            window_end=as_of + timedelta(days=horizon_days),
        )
        if outcomes.empty:
            continue
        with engine.connect() as connection:
            features = pd.read_sql_query(
                text(
                    f"select tenant_id, customer_id, {_FEATURES} from {features_table} "
                    "where as_of_date = :day and tenant_id = any(:tenants)"
                ),
                connection,
                params={"day": day, "tenants": list(tenant_ids)},
            )
        frames.append(outcomes.merge(features, on=["tenant_id", "customer_id"]).assign(as_of_date=day))
    if not frames:
        return pd.DataFrame(columns=["as_of_date", "tenant_id", "customer_id", "churned"])
    frame = pd.concat(frames, ignore_index=True)
    return frame[["as_of_date", *(column for column in frame.columns if column != "as_of_date")]]
