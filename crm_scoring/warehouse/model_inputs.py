"""What the learned churn model reads: behaviour features with per-type activity counts as
columns (training_frame), the activity types to make columns of (top_activity_types) and the
labels (training_labels).

Partitions are read with COPY through read_partition_rows (tenant ids bound); table names are
schema-qualified from validated settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, text

from crm_scoring.settings import Settings
from crm_scoring.warehouse.labels import churn_labels
from crm_scoring.warehouse.reads import read_partition_rows

KEY_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "as_of"]
TYPE_COUNT_WINDOWS = ("count_7d", "count_30d", "count_90d")


def type_count_column(activity_type: str, window: str) -> str:
    """The training frame's column of one activity type's count, e.g. type__LOGIN__count_30d."""
    return f"type__{activity_type}__{window}"


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model features of a training frame: every column but the keys."""
    return [column for column in frame.columns if column not in KEY_COLUMNS]


def training_frame(
    engine: Engine,
    settings: Settings,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    activity_types: Sequence[str],
) -> pd.DataFrame:
    """customer_behaviour_features of the days and tenants, one row per (as_of_date, tenant_id,
    customer_id), with three columns per activity type of ``activity_types``
    (type__<TYPE>__count_7d / _30d / _90d). KEY_COLUMNS, then the numeric features.

    A count is 0 when customer_activity_type_counts has no row: the customer had no such
    activity in the 90 days, or the type was not among its tenant's top N of that day (the
    table keeps only those), so pass types from top_activity_types of the same tenants and days.
    Serves the daily predictions too: nothing here reads a label.
    """
    columns = [type_count_column(kind, window) for kind in activity_types for window in TYPE_COUNT_WINDOWS]
    features_table = _table(settings, "customer_behaviour_features")
    counts_table = _table(settings, "customer_activity_type_counts")
    frames = []
    for day in sorted(set(days)):
        features = read_partition_rows(engine, features_table, day, tenant_ids)
        counts = read_partition_rows(engine, counts_table, day, tenant_ids)
        counts = counts[counts["activity_type"].isin(activity_types)]
        if not counts.empty:
            pivoted = counts.pivot_table(
                index=["tenant_id", "customer_id"],
                columns="activity_type",
                values=list(TYPE_COUNT_WINDOWS),
                aggfunc="sum",
            )
            pivoted.columns = [type_count_column(kind, window) for window, kind in pivoted.columns]
            features = features.merge(pivoted.reset_index(), on=["tenant_id", "customer_id"], how="left")
        frames.append(features.reindex(columns=[*features.columns.drop(columns, errors="ignore"), *columns]))
    if not frames:
        return pd.DataFrame(columns=[*KEY_COLUMNS, *columns])
    frame = pd.concat(frames, ignore_index=True)
    frame[columns] = frame[columns].fillna(0).astype("int64")
    return frame.sort_values(["as_of_date", "tenant_id", "customer_id"], ignore_index=True)


def top_activity_types(
    engine: Engine,
    settings: Settings,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    limit: int | None = None,
) -> list[str]:
    """The activity types customer_activity_type_counts holds for the tenants and days, most
    activities in 90 days first (ties: the type that sorts first), at most ``limit``."""
    query = text(
        f"""
        select activity_type
        from {_table(settings, "customer_activity_type_counts")}
        where tenant_id = any(:tenants) and as_of_date = any(:days)
        group by activity_type
        order by sum(count_90d) desc, activity_type
        limit :limit
        """
    )
    with engine.connect() as connection:
        return list(
            connection.execute(
                query, {"tenants": list(tenant_ids), "days": sorted(set(days)), "limit": limit}
            ).scalars()
        )


def training_labels(
    engine: Engine,
    settings: Settings,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    observed_until: datetime,
) -> pd.DataFrame:
    """labels.churn_labels over this deployment's tables, time zone and horizon
    (CRM_SCORING_CHURN_HORIZON_DAYS): (as_of_date, tenant_id, customer_id, churned) of the days
    whose whole horizon ended by ``observed_until``; the other days are left out."""
    return churn_labels(
        engine,
        features_table=_table(settings, "customer_features"),
        history_table=_table(settings, "profile_history"),
        activities_table=f"{settings.source_schema}.activities",
        tenant_ids=tenant_ids,
        days=days,
        tz=settings.tz,
        observed_until=observed_until,
        horizon_days=settings.churn_horizon_days,
    )


def _table(settings: Settings, name: str) -> str:
    return f"{settings.analytics_schema}.{name}"
