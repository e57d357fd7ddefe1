"""Scores a frame of customer features as of one instant: the ten components and both scores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from crm_scoring.rules import churn, engagement
from crm_scoring.rules.config import SPEC_CONFIG, ScoringConfig
from crm_scoring.rules.explanations import top_churn_reasons
from crm_scoring.rules.rounding import whole_days_since

FEATURE_COLUMNS = (
    "last_activity_at",
    "activity_count_30d",
    "activity_count_90d",
    "lifetime_value",
    "email_opt_in",
    "sms_opt_in",
    "push_opt_in",
    "whatsapp_opt_in",
    "campaign_sent_30d",
    "campaign_opened_30d",
    "campaign_clicked_30d",
    "payment_failed_90d",
    "payment_received_90d",
    "latest_tier_change_reason",
    "complaints_90d",
    "last_email_open_at",
)

_OPT_INS = ("email_opt_in", "sms_opt_in", "push_opt_in", "whatsapp_opt_in")

ENGAGEMENT_COMPONENTS = (
    "recency_score",
    "frequency_score",
    "monetary_score",
    "breadth_score",
    "depth_score",
)
CHURN_COMPONENTS = (
    "activity_decline_risk",
    "payment_risk",
    "engagement_drop_risk",
    "tier_downgrade_risk",
    "complaint_risk",
)
SCORE_COLUMNS = ("engagement_score", "churn_risk_score", *ENGAGEMENT_COMPONENTS, *CHURN_COMPONENTS)


def epoch_ms(timestamps: pd.Series) -> np.ndarray:
    """Milliseconds since the epoch as float64 (NaN for null), truncated like a JavaScript Date."""
    utc = pd.to_datetime(timestamps, utc=True).astype("datetime64[us, UTC]")
    micros = utc.to_numpy(dtype="datetime64[us]").astype(np.int64).astype(np.float64)
    return np.where(utc.isna().to_numpy(), np.nan, np.floor(micros / 1000))


def score_features(
    features: pd.DataFrame, as_of: datetime, config: ScoringConfig = SPEC_CONFIG
) -> pd.DataFrame:
    """Returns one row per input row with SCORE_COLUMNS and top_reasons (the churn risk's
    biggest contributors in words), index aligned with ``features``, under ``config`` (the
    specification's weights and thresholds by default)."""
    missing = [column for column in FEATURE_COLUMNS if column not in features.columns]
    if missing:
        raise KeyError(f"feature frame lacks columns: {', '.join(missing)}")
    now_ms = pd.Timestamp(as_of).timestamp() * 1000
    days_since_activity = whole_days_since(epoch_ms(features["last_activity_at"]), now_ms)
    days_since_open = whole_days_since(epoch_ms(features["last_email_open_at"]), now_ms)
    count_30d = features["activity_count_30d"].to_numpy(dtype=np.float64)

    components = {
        "recency_score": engagement.recency_score(days_since_activity, config.engagement.recency),
        "frequency_score": engagement.frequency_score(count_30d, config.engagement.frequency),
        "monetary_score": engagement.monetary_score(
            pd.to_numeric(features["lifetime_value"], errors="coerce").to_numpy(dtype=np.float64),
            config.engagement.monetary,
        ),
        "breadth_score": engagement.breadth_score(
            *(features[c].fillna(False).to_numpy(dtype=bool) for c in _OPT_INS)
        ),
        "depth_score": engagement.depth_score(
            features["campaign_sent_30d"].to_numpy(dtype=np.float64),
            features["campaign_opened_30d"].to_numpy(dtype=np.float64),
            features["campaign_clicked_30d"].to_numpy(dtype=np.float64),
        ),
        "activity_decline_risk": churn.activity_decline_risk(
            count_30d,
            features["activity_count_90d"].to_numpy(dtype=np.float64),
            days_since_activity,
        ),
        "payment_risk": churn.payment_risk(
            features["payment_failed_90d"].to_numpy(dtype=np.float64),
            features["payment_received_90d"].to_numpy(dtype=np.float64),
        ),
        "engagement_drop_risk": churn.engagement_drop_risk(days_since_open, config.churn.engagement_drop),
        "tier_downgrade_risk": churn.tier_downgrade_risk(
            features["latest_tier_change_reason"].to_numpy(dtype=object)
        ),
        "complaint_risk": churn.complaint_risk(features["complaints_90d"].to_numpy(dtype=np.float64)),
    }
    scores = {
        "engagement_score": engagement.engagement_score(
            *(components[c] for c in ENGAGEMENT_COMPONENTS), weights=config.engagement.weights
        ),
        "churn_risk_score": churn.churn_risk_score(
            *(components[c] for c in CHURN_COMPONENTS), weights=config.churn.weights
        ),
        **components,
    }
    scored = pd.DataFrame(
        {name: np.asarray(values).astype(np.int16) for name, values in scores.items()},
        index=features.index,
    )[list(SCORE_COLUMNS)]
    scored["top_reasons"] = top_churn_reasons(
        features, scored, days_since_activity, days_since_open, config.churn.weights
    )
    return scored


def score_by_tenant(
    features: pd.DataFrame, as_of: datetime, config_for: Callable[[str], ScoringConfig]
) -> pd.DataFrame:
    """``score_features`` with each tenant's configuration (``config_for(tenant_id)``), index
    aligned with ``features``. Tenants sharing a configuration are scored together, so the
    usual day (every tenant on the defaults) is one vectorised pass over the whole frame."""
    tenants_by_config: dict[ScoringConfig, list[str]] = {}
    for tenant_id in features["tenant_id"].unique():
        tenants_by_config.setdefault(config_for(tenant_id), []).append(tenant_id)
    if len(tenants_by_config) <= 1:
        return score_features(features, as_of, next(iter(tenants_by_config), SPEC_CONFIG))
    positional = features.reset_index(drop=True)
    scored = pd.concat(
        [
            score_features(positional[positional["tenant_id"].isin(tenant_ids)], as_of, config)
            for config, tenant_ids in tenants_by_config.items()
        ]
    ).sort_index()
    scored.index = features.index
    return scored
