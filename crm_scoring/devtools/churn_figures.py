"""How well the specification's churn score, two naive predictors and a quick learned model
rank observed churn on backfilled days, out of time: the figures of docs/synthetic-data.md.

    python -m crm_scoring.devtools.churn_figures --first 2026-08-02 --last 2026-09-29

Reads what a backfill wrote (``customer_features``, ``customer_scores``) and the backtest's
own outcome query (``churn_outcomes``: churned within the horizon after each day), for every
labelled day in [first, last]. The model (scikit-learn's HistGradientBoosting, default
parameters) trains on the older half of the days and is judged on the newer half, beside the
rule score and the naive predictors on the same rows. Profile fields (lifetime value, last
email open, opt-ins) are left out: on backfilled days they are reconstructed from today's row
and leak the future (docs/point-in-time.md). Intervals: 95% bootstrap over customers (a
customer's rows on every day are drawn together).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

import numpy as np
import pandas as pd

from crm_scoring.environment import configure_environment
from crm_scoring.rules.backtest import auc
from crm_scoring.scope import as_of_instant
from crm_scoring.settings import load_settings
from crm_scoring.warehouse.outcomes import churn_outcomes
from crm_scoring.warehouse.reads import read_partition_rows
from crm_scoring.warehouse.tenants import distinct_tenant_ids
from crm_scoring.warehouse.urls import warehouse_engine

MODEL_FEATURES = [
    "activity_count_30d",
    "activity_count_90d",
    "days_since_last_activity",
    "campaign_sent_30d",
    "campaign_opened_30d",
    "campaign_clicked_30d",
    "payment_failed_90d",
    "payment_received_90d",
    "tier_downgrade",
    "tier_upgrade",
    "complaints_90d",
    "tenant_code",
]
NEVER_ACTIVE_DAYS = 10_000.0  # "days since the last activity" of a customer never active
BOOTSTRAP_ROUNDS = 300


def labelled_rows(first: date, last: date) -> pd.DataFrame:
    """One row per (day, customer scored ACTIVE that day): features, rule score, churned."""
    settings = load_settings()
    engine = warehouse_engine(configure_environment())
    tenants = distinct_tenant_ids(engine, settings.source_schema)
    table = f"{settings.analytics_schema}.{{}}".format
    frames = []
    day = first
    while day <= last:
        as_of = as_of_instant(day, settings.tz)
        outcomes = churn_outcomes(
            engine,
            scores_table=table("customer_scores"),
            history_table=table("profile_history"),
            activities_table=f"{settings.source_schema}.activities",
            as_of_date=day,
            tenant_ids=tenants,
            window_start=as_of,
            window_end=as_of_instant(day + timedelta(days=settings.churn_horizon_days), settings.tz),
        )
        features = read_partition_rows(engine, table("customer_features"), day, tenants)
        rows = outcomes.merge(features.drop(columns="tenant_id"), on="customer_id", how="inner")
        since = (pd.Timestamp(as_of) - pd.to_datetime(rows["last_activity_at"], utc=True)).dt.total_seconds()
        rows["days_since_last_activity"] = (since / 86_400).fillna(NEVER_ACTIVE_DAYS)
        rows["as_of_date"] = day
        frames.append(rows)
        day += timedelta(days=1)
    rows = pd.concat(frames, ignore_index=True)
    rows["churned"] = rows["churned"].astype(bool)
    rows["tier_downgrade"] = (rows["latest_tier_change_reason"] == "downgrade").astype(int)
    rows["tier_upgrade"] = (rows["latest_tier_change_reason"] == "upgrade").astype(int)
    rows["tenant_code"] = rows["tenant_id"].astype("category").cat.codes
    return rows


def predictors(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Higher means more likely to churn, for each compared predictor."""
    return {
        "rule churn_risk_score": rows["churn_risk_score"].to_numpy(float),
        "days since last activity": rows["days_since_last_activity"].to_numpy(float),
        "fewer activities in 30 days": -rows["activity_count_30d"].to_numpy(float),
    }


def auc_interval(scores: np.ndarray, churned: np.ndarray, customers: np.ndarray, seed: int = 7):
    """AUC and its 95% bootstrap interval, resampling customers with all their rows."""
    point = auc(scores, churned)
    codes, _ = pd.factorize(customers)
    members = pd.Series(np.arange(len(codes))).groupby(codes).apply(np.array).to_list()
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_ROUNDS):
        picked = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        value = auc(scores[picked], churned[picked])
        if value is not None:
            draws.append(value)
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    return point, low, high


def _line(name: str, scores: np.ndarray, rows: pd.DataFrame) -> str:
    point, low, high = auc_interval(scores, rows["churned"].to_numpy(), rows["customer_id"].to_numpy())
    return f"| {name} | {point:.3f} | {low:.3f} to {high:.3f} |"


def report(rows: pd.DataFrame) -> str:
    from sklearn.ensemble import HistGradientBoostingClassifier

    days = sorted(rows["as_of_date"].unique())
    split = days[len(days) // 2]
    train, test = rows[rows["as_of_date"] < split], rows[rows["as_of_date"] >= split]
    model = HistGradientBoostingClassifier(random_state=7).fit(train[MODEL_FEATURES], train["churned"])
    learned = model.predict_proba(test[MODEL_FEATURES])[:, 1]
    lines = [
        f"labelled days {days[0]} … {days[-1]}: {len(rows)} rows, {rows['churned'].sum()} churned labels, "
        f"{rows.loc[rows['churned'], 'customer_id'].nunique()} distinct churners of "
        f"{rows['customer_id'].nunique()} customers",
        f"train {days[0]} … {days[len(days) // 2 - 1]} ({len(train)} rows), test {split} … {days[-1]} "
        f"({len(test)} rows, {test['churned'].sum()} churned labels, "
        f"{test.loc[test['churned'], 'customer_id'].nunique()} distinct churners)",
        "",
        "Test days, all tenants (AUC, 95% interval):",
        "| predictor | AUC | interval |",
        "| --- | ---: | --- |",
        *(_line(name, scores, test) for name, scores in predictors(test).items()),
        _line("HistGradientBoosting on customer_features", learned, test),
        "",
        "Per tenant, test days:",
        "| tenant | customers | churn rate | rule | days since last | fewer in 30 d | model |",
        "| --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    test = test.assign(learned=learned)
    for tenant, part in test.groupby("tenant_id"):
        cells = [
            "{:.2f} ({:.2f} to {:.2f})".format(
                *auc_interval(scores, part["churned"].to_numpy(), part["customer_id"].to_numpy())
            )
            for scores in [*predictors(part).values(), part["learned"].to_numpy()]
        ]
        lines.append(
            f"| {tenant} | {part['customer_id'].nunique()} | {part['churned'].mean():.3f} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    """Both populations: the backtest's counts a customer already silent on the day as a churner
    whenever it stays silent, which every predictor finds; the second leaves those out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=date.fromisoformat, required=True, help="first labelled day")
    parser.add_argument("--last", type=date.fromisoformat, required=True, help="last labelled day")
    args = parser.parse_args()
    rows = labelled_rows(args.first, args.last)
    print("## Every customer scored ACTIVE (the backtest's population)\n")
    print(report(rows))
    print("\n## Customers with an activity in the 30 days before the day (not yet gone quiet)\n")
    print(report(rows[rows["activity_count_30d"] > 0]))


if __name__ == "__main__":
    main()
