"""What the learned churn model reads: behaviour features with per-type activity counts as
columns (training_frame), the activity types to make columns of (top_activity_types), the
labels (training_labels), and the labelled rows with their features and the rule score to
compare with (labelled_rows; labelled_training_frame: both).

Partitions are read with COPY (warehouse/reads): tenant ids and activity types reach SQL
through temporary tables filled with bound parameters; table names are schema-qualified from
validated settings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, text

from crm_scoring.scope import DayScope
from crm_scoring.settings import AT_RISK_POPULATION, Settings
from crm_scoring.warehouse.labels import churn_labels
from crm_scoring.warehouse.outcomes import create_model_population
from crm_scoring.warehouse.reads import read_partition_rows, read_query_rows, want_partitions

KEY_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "as_of"]
TYPE_COUNT_WINDOWS = ("count_7d", "count_30d", "count_90d")
_TYPE_COUNT_COLUMN = re.compile(r"^type__(?P<type>.+)__count_(?:7|30|90)d$")


def type_count_column(activity_type: str, window: str) -> str:
    """The training frame's column of one activity type's count, e.g. type__LOGIN__count_30d."""
    return f"type__{activity_type}__{window}"


def activity_types_of(features: Sequence[str]) -> list[str]:
    """The activity types whose type_count_column a model's features name, in their order."""
    types = [match["type"] for name in features if (match := _TYPE_COUNT_COLUMN.match(name))]
    return list(dict.fromkeys(types))


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
    Serves the daily predictions too (prediction_frame): nothing here reads a label.
    """
    frames = []
    for day in sorted(set(days)):
        with engine.connect() as connection:
            want_partitions(connection, day, tenant_ids)
            frames.append(_behaviour_rows(connection, settings, activity_types, in_model_population=False))
    if not frames:
        return pd.DataFrame(columns=[*KEY_COLUMNS, *_type_count_columns(activity_types)])
    return _sorted(pd.concat(frames, ignore_index=True))


def prediction_frame(
    engine: Engine,
    settings: Settings,
    scope: DayScope,
    active_since: datetime | None,
    activity_types: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """training_frame's rows of the day for the customers the model predicts: ACTIVE that day
    and, with ``active_since``, at risk (outcomes.create_model_population). Also how many
    ACTIVE customers were left out as already churned."""
    with engine.connect() as connection:
        want_partitions(connection, scope.as_of_date, scope.tenant_ids)
        active, kept = create_model_population(
            connection,
            features_table=_table(settings, "customer_features"),
            history_table=_table(settings, "profile_history"),
            activities_table=f"{settings.source_schema}.activities",
            as_of_date=scope.as_of_date,
            tenant_ids=scope.tenant_ids,
            as_of=scope.as_of,
            active_since=active_since,
        )
        frame = _behaviour_rows(connection, settings, activity_types, in_model_population=True)
    return _sorted(frame), active - kept


def _behaviour_rows(
    connection: Connection, settings: Settings, activity_types: Sequence[str], *, in_model_population: bool
) -> pd.DataFrame:
    """The wanted partitions' customer_behaviour_features with the activity types' counts
    pivoted into columns by PostgreSQL (instead of reading a row per customer and type);
    only pg_temp.model_population's kept customers when ``in_model_population``. Activity types
    are data: they reach SQL as bound parameters, the columns are named by position."""
    slots = [(position, window) for position in range(len(activity_types)) for window in TYPE_COUNT_WINDOWS]
    positional = [f"t{position}_{window}" for position, window in slots]
    sums = "".join(
        f", sum(counts.{window}) filter (where counts.activity_type = :type_{position}) "
        f"as t{position}_{window}"
        for position, window in slots
    )
    population = (
        "join pg_temp.model_population as population using (tenant_id, customer_id)"
        if in_model_population
        else ""
    )
    kept = "and population.kept" if in_model_population else ""
    # A table of its own, indexed: joined as a subquery, the pivot was re-aggregated for every
    # customer whenever the planner misjudged the population join as one row (30 s instead of
    # 30 ms for a tenant of 7,655 customers).
    connection.execute(
        text(
            f"""create temporary table type_counts on commit drop as
            select counts.tenant_id, counts.customer_id{sums}
            from {_table(settings, "customer_activity_type_counts")} as counts
            join pg_temp.wanted_partitions as wanted using (as_of_date, tenant_id)
            {population}
            where counts.activity_type = any(:types) {kept}
            group by counts.tenant_id, counts.customer_id"""
        ),
        {"types": list(activity_types)}
        | {f"type_{position}": kind for position, kind in enumerate(activity_types)},
    )
    connection.execute(text("create index on pg_temp.type_counts (customer_id)"))
    connection.execute(text("analyze pg_temp.type_counts"))
    counted = "".join(f", coalesce(type_counts.{column}, 0)::bigint as {column}" for column in positional)
    frame = read_query_rows(
        connection,
        f"""select features.*{counted}
        from {_table(settings, "customer_behaviour_features")} as features
        join pg_temp.wanted_partitions as wanted using (as_of_date, tenant_id)
        left join pg_temp.type_counts as type_counts using (tenant_id, customer_id)
        {population}
        where true {kept}""",
    )
    return frame.rename(columns=dict(zip(positional, _type_count_columns(activity_types), strict=True)))


def _type_count_columns(activity_types: Sequence[str]) -> list[str]:
    return [type_count_column(kind, window) for kind in activity_types for window in TYPE_COUNT_WINDOWS]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
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
    population: str = AT_RISK_POPULATION,
) -> pd.DataFrame:
    """labels.churn_labels over this deployment's tables, time zone and horizon
    (CRM_SCORING_CHURN_HORIZON_DAYS): (as_of_date, tenant_id, customer_id, churned) of the days
    whose whole horizon ended by ``observed_until``, for the customers of ``population``
    (CRM_SCORING_CHURN_MODEL_POPULATION: settings.churn_model_population); the other days are
    left out."""
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
        population=population,
    )


def tenant_activity_types(
    engine: Engine, settings: Settings, tenant_ids: Sequence[str], days: Sequence[date]
) -> list[str]:
    """The activity types to make training columns of: each tenant's own (top_activity_types of
    that tenant over the days: its top N on any of them), the union over the tenants, each
    tenant's most frequent first. A tenant's own model keeps only the columns of its types
    (model/training.own_type_columns); a pooled model sees all, another tenant's being 0."""
    types: dict[str, None] = {}
    for tenant_id in tenant_ids:
        types.update(dict.fromkeys(top_activity_types(engine, settings, [tenant_id], days)))
    return list(types)


def rule_scores(
    engine: Engine, settings: Settings, tenant_ids: Sequence[str], days: Sequence[date]
) -> pd.DataFrame:
    """(as_of_date, tenant_id, customer_id, churn_risk_score) of customer_scores: the
    specification's score, which the model is compared with and never learns from."""
    columns = ["as_of_date", "tenant_id", "customer_id", "churn_risk_score"]
    table = _table(settings, "customer_scores")
    frames = [read_partition_rows(engine, table, day, tenant_ids, columns) for day in sorted(set(days))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def labelled_training_frame(
    engine: Engine,
    settings: Settings,
    tenant_ids: Sequence[str],
    days: Sequence[date],
    observed_until: datetime,
    population: str = AT_RISK_POPULATION,
) -> pd.DataFrame:
    """The churn model's training rows: one per customer of ``population`` (ACTIVE on a day of
    ``days`` and, for at_risk, not already churned then) whose horizon passed by
    ``observed_until`` (training_labels), with its features (labelled_rows). Days without a
    label (horizon still open) or without scores (never scored) give no row."""
    labels = training_labels(engine, settings, tenant_ids, days, observed_until, population)
    return labelled_rows(engine, settings, labels)


def labelled_rows(engine: Engine, settings: Settings, labels: pd.DataFrame) -> pd.DataFrame:
    """The labelled customer-days of ``labels`` (training_labels' columns) with ``churned``, the
    behaviour features and per-type counts of tenant_activity_types of their tenants
    (training_frame), and the rule's ``churn_risk_score`` (never a feature:
    model/training.NEVER_FEATURES), sorted by day, tenant and customer. Read a tenant at a time:
    a tenant's features are read for all its customers, then kept for the labelled ones."""
    labels = _with_dates(labels)
    days = sorted(set(labels["as_of_date"]))
    tenant_ids = sorted(set(labels["tenant_id"]))
    types = tenant_activity_types(engine, settings, tenant_ids, days)
    keys = ["as_of_date", "tenant_id", "customer_id"]
    frames = []
    for tenant_id, tenant_labels in labels.groupby("tenant_id", sort=True):
        features = _with_dates(training_frame(engine, settings, [tenant_id], days, types))
        scores = _with_dates(rule_scores(engine, settings, [tenant_id], days))
        frames.append(features.merge(tenant_labels, on=keys, how="inner").merge(scores, on=keys, how="left"))
    if not frames:
        return labels.iloc[:0]
    return pd.concat(frames, ignore_index=True).sort_values(keys, ignore_index=True)


def _with_dates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(as_of_date=[_day(value) for value in frame["as_of_date"]])


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _table(settings: Settings, name: str) -> str:
    return f"{settings.analytics_schema}.{name}"
