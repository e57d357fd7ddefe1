"""`crm-scoring preview`: how one tenant's distributions would move under another scoring config.

Scores the tenant's stored customer_features of one day twice, with the config in force and
with the proposed file, and compares what BI and on-call would see: engagement buckets and
churn-risk bands (ACTIVE customers, as the distribution tables count them), churn alerts and
mean scores (every scored customer, as churn_alerts and tenant_daily_averages count them), and
how many customers change bucket or band. Reads only; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm_scoring.app.operations import UsageError
from crm_scoring.rules.alerts import high_churn_risk
from crm_scoring.rules.config import ScoringConfigFile
from crm_scoring.rules.distributions import (
    CHURN_RISK_BANDS,
    COUNTED_STATUS,
    ENGAGEMENT_BUCKETS,
    churn_risk_overview_rows,
    engagement_distribution_rows,
)
from crm_scoring.rules.scorecard import score_features
from crm_scoring.scope import as_of_instant, tenant_partition_key
from crm_scoring.settings import Settings
from crm_scoring.warehouse.reads import latest_day, read_partition_rows, scored_config_versions
from crm_scoring.warehouse.schema import relation_exists
from crm_scoring.warehouse.tenants import distinct_tenant_ids


@dataclass(frozen=True)
class Side:
    """One config's view of the day."""

    config_version: str
    source: str
    engagement: dict[str, int]  # bucket label -> ACTIVE customers
    churn_risk: dict[str, int]  # band name -> ACTIVE customers
    alerts: int  # scored customers at or above the alert threshold
    alert_threshold: int
    mean_engagement: float  # over every scored customer, 2 decimals
    mean_churn_risk: float


@dataclass(frozen=True)
class Moves:
    """Customers (ACTIVE) whose bucket or band differs between the two configs."""

    changed: int
    up: int  # to a higher bucket / a riskier band
    down: int


@dataclass(frozen=True)
class Preview:
    tenant_id: str
    as_of_date: date
    customers: int  # scored customers (any status)
    active: int
    stored_versions: tuple[str, ...]  # config_version(s) of the day's stored scores
    current: Side
    proposed: Side
    engagement_moves: Moves
    churn_risk_moves: Moves


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date {value!r} is not a date in YYYY-MM-DD form") from None


def preview_tenant(
    engine: Engine,
    settings: Settings,
    tenant: str,
    day: date | None,
    current: ScoringConfigFile,
    proposed: ScoringConfigFile,
) -> Preview:
    """Reads the tenant's features of ``day`` (default: its newest scored day) and compares."""
    tenant_id = _resolve_tenant(engine, settings, tenant)
    scores = f"{settings.analytics_schema}.customer_scores"
    features_table = f"{settings.analytics_schema}.customer_features"
    has_scores, has_features = relation_exists(engine, scores), relation_exists(engine, features_table)
    with engine.connect() as connection:
        if day is None:
            day = latest_day(connection, scores, tenant_id) if has_scores else None
            if day is None:
                raise UsageError(
                    f"Tenant {tenant_id!r} has no scored day yet: score one first "
                    "(crm-scoring run --date YYYY-MM-DD) or pass --date."
                )
        stored = scored_config_versions(connection, scores, day, tenant_id) if has_scores else ()
    features = (
        read_partition_rows(engine, features_table, day, [tenant_id]) if has_features else pd.DataFrame()
    )
    if features.empty:
        raise UsageError(
            f"No customer_features for tenant {tenant_id!r} on {day}: that day was not scored "
            "for it (crm-scoring run --date … builds them), or it had no scorable customers."
        )
    as_of = features["as_of"].iloc[0] if "as_of" in features else as_of_instant(day, settings.tz)
    return compare(features, pd.Timestamp(as_of).to_pydatetime(), tenant_id, day, current, proposed, stored)


def compare(
    features: pd.DataFrame,
    as_of: datetime,
    tenant_id: str,
    day: date,
    current: ScoringConfigFile,
    proposed: ScoringConfigFile,
    stored_versions: tuple[str, ...] = (),
) -> Preview:
    """The comparison itself, on one tenant's features (pure: no database)."""
    scored = {
        name: pd.concat(
            [
                features[["tenant_id", "status"]],
                score_features(features, as_of, configs.config_for(tenant_id)),
            ],
            axis=1,
        )
        for name, configs in (("current", current), ("proposed", proposed))
    }
    active = features["status"] == COUNTED_STATUS
    return Preview(
        tenant_id=tenant_id,
        as_of_date=day,
        customers=len(features),
        active=int(active.sum()),
        stored_versions=stored_versions,
        current=_side(scored["current"], tenant_id, current),
        proposed=_side(scored["proposed"], tenant_id, proposed),
        engagement_moves=_moves(
            _engagement_bucket(scored["current"]["engagement_score"][active]),
            _engagement_bucket(scored["proposed"]["engagement_score"][active]),
        ),
        churn_risk_moves=_moves(
            _churn_band(scored["current"]["churn_risk_score"][active]),
            _churn_band(scored["proposed"]["churn_risk_score"][active]),
        ),
    )


def _side(scores: pd.DataFrame, tenant_id: str, configs: ScoringConfigFile) -> Side:
    threshold = configs.config_for(tenant_id).churn.alert_threshold
    buckets = engagement_distribution_rows(scores, [tenant_id])
    overview = churn_risk_overview_rows(scores, [tenant_id]).iloc[0]
    return Side(
        config_version=configs.version_for(tenant_id),
        source=configs.source,
        engagement={row.label: int(row.customer_count) for row in buckets.itertuples()},
        churn_risk={band.name: int(overview[band.name]) for band in CHURN_RISK_BANDS},
        alerts=len(high_churn_risk(scores, threshold)),
        alert_threshold=threshold,
        mean_engagement=round(float(scores["engagement_score"].mean()), 2),
        mean_churn_risk=round(float(scores["churn_risk_score"].mean()), 2),
    )


def _engagement_bucket(scores: pd.Series) -> np.ndarray:
    """Rank of each score's bucket: 0 = Inactive … 3 = High."""
    ranks = len(ENGAGEMENT_BUCKETS) - 1 - np.arange(len(ENGAGEMENT_BUCKETS))
    return np.select(
        [scores.between(b.min_score, b.max_score).to_numpy() for b in ENGAGEMENT_BUCKETS], ranks, -1
    )


def _churn_band(scores: pd.Series) -> np.ndarray:
    """Rank of each score's band: 0 = low … 3 = critical."""
    ranks = len(CHURN_RISK_BANDS) - 1 - np.arange(len(CHURN_RISK_BANDS))
    return np.select([band.contains(scores).to_numpy() for band in CHURN_RISK_BANDS], ranks, -1)


def _moves(before: np.ndarray, after: np.ndarray) -> Moves:
    return Moves(
        changed=int((before != after).sum()), up=int((after > before).sum()), down=int((after < before).sum())
    )


def _resolve_tenant(engine: Engine, settings: Settings, tenant: str) -> str:
    """A tenant id, given as the id or as its partition key."""
    known = distinct_tenant_ids(engine, settings.source_schema)
    if tenant in known:
        return tenant
    by_key = {tenant_partition_key(tenant_id): tenant_id for tenant_id in known}
    if tenant in by_key:
        return by_key[tenant]
    listed = ", ".join(sorted(known)[:20]) + (" …" if len(known) > 20 else "")
    raise UsageError(f"Unknown tenant {tenant!r}: it has no customer profiles. Known: {listed or 'none'}")


def _band_label(band) -> str:
    if band.lower is None:
        return f"{band.name} (< {band.upper})"
    if band.upper is None:
        return f"{band.name} (>= {band.lower})"
    return f"{band.name} ({band.lower}-{band.upper - 1})"


def render(preview: Preview) -> str:
    """The side-by-side comparison the command prints."""
    cur, new = preview.current, preview.proposed
    rows: list[tuple[str, str, str, str]] = [("", "current", "proposed", "change")]

    def counts(label: str, before: int, after: int) -> tuple[str, str, str, str]:
        return (f"  {label}", str(before), str(after), f"{after - before:+d}")

    rows.append((f"Engagement buckets, {preview.active} ACTIVE customers", "", "", ""))
    rows += [counts(b.label, cur.engagement[b.label], new.engagement[b.label]) for b in ENGAGEMENT_BUCKETS]
    rows.append((f"Churn-risk bands, {preview.active} ACTIVE customers", "", "", ""))
    rows += [counts(_band_label(b), cur.churn_risk[b.name], new.churn_risk[b.name]) for b in CHURN_RISK_BANDS]
    rows.append((f"All {preview.customers} scored customers", "", "", ""))
    rows.append(
        (
            "  churn alerts",
            f"{cur.alerts} (>= {cur.alert_threshold})",
            f"{new.alerts} (>= {new.alert_threshold})",
            f"{new.alerts - cur.alerts:+d}",
        )
    )
    for label, before, after in (
        ("mean engagement score", cur.mean_engagement, new.mean_engagement),
        ("mean churn risk score", cur.mean_churn_risk, new.mean_churn_risk),
    ):
        rows.append((f"  {label}", f"{before:.2f}", f"{after:.2f}", f"{after - before:+.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"Preview for tenant {preview.tenant_id} on {preview.as_of_date}: its stored features scored "
        "with both configs; nothing is written.",
        f"current:  {cur.config_version}  ({cur.source})",
        f"proposed: {new.config_version}  ({new.source})",
        "stored scores of that day: " + (", ".join(preview.stored_versions) or "(none)"),
        "",
    ]
    lines += [
        f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d:>{widths[3]}}".rstrip()
        for a, b, c, d in rows
    ]
    engagement, churn = preview.engagement_moves, preview.churn_risk_moves
    lines += [
        "",
        f"ACTIVE customers changing engagement bucket: {engagement.changed} of {preview.active} "
        f"({engagement.up} higher, {engagement.down} lower)",
        f"ACTIVE customers changing churn-risk band: {churn.changed} of {preview.active} "
        f"({churn.up} riskier, {churn.down} safer)",
    ]
    return "\n".join(lines)
