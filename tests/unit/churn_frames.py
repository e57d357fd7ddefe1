"""Synthetic training frames whose answer is known, for the churn-model tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from crm_scoring.model.training import ModelConfig

SIGNAL, NOISE = "days_since_last_activity", "campaign_opened_30d"
MONTH_STARTS = [date(2025, month, 1) for month in range(1, 13)]
# 12 month starts, H = 60, the newest 3 validate: Oct 1, Nov 1, Dec 1; training ends on or
# before Oct 1 - 60 days = Aug 2, i.e. Jan 1 .. Aug 1; Sep 1 is in the gap.
CONFIG = ModelConfig(horizon_days=60, validation_day_count=3, bootstrap_replicates=100)


def synthetic(customers: dict[str, int], *, seed: int = 1, days=MONTH_STARTS, intercept=-2.0) -> pd.DataFrame:
    """P(churned) = logistic(intercept + 0.08 (days since last activity - 20)); noise unrelated."""
    rng = np.random.default_rng(seed)
    frames = []
    for tenant_id, count in customers.items():
        for day in days:
            silence = rng.gamma(2.0, 10.0, count)
            probability = 1 / (1 + np.exp(-(intercept + 0.08 * (silence - 20))))
            frames.append(
                pd.DataFrame(
                    {
                        "as_of_date": day,
                        "tenant_id": tenant_id,
                        "customer_id": [f"c{i}" for i in range(count)],
                        SIGNAL: np.round(silence),
                        NOISE: rng.poisson(3.0, count).astype(float),
                        "churned": rng.random(count) < probability,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
