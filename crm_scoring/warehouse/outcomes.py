"""What became of scored customers: the observed churn outcome the backtest compares scores with,
and the learned churn model's labels (warehouse/labels.py) are made of.

One set-based query per (day, tenants): tenant ids and instants are bound parameters; table
names are schema-qualified from validated settings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, text

EVALUATED_STATUS = "ACTIVE"
# A merge folds a duplicate into another profile: the customer stays, so it is no churn.
MERGED_STATUS = "MERGED"
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
    ``as_of_date`` (its status in force then, by the point-in-time rules); churned as
    :func:`observed_churn` says."""
    return observed_churn(
        engine,
        population_table=scores_table,
        carried_columns=("churn_risk_score",),
        history_table=history_table,
        activities_table=activities_table,
        as_of_date=as_of_date,
        tenant_ids=tenant_ids,
        window_start=window_start,
        window_end=window_end,
    )


def observed_churn(
    engine: Engine,
    *,
    population_table: str,
    carried_columns: Sequence[str] = (),
    history_table: str,
    activities_table: str,
    as_of_date: date,
    tenant_ids: Sequence[str],
    window_start: datetime,
    window_end: datetime,
    active_since: datetime | None = None,
) -> pd.DataFrame:
    """(tenant_id, customer_id, *carried_columns, churned) of every customer of
    ``population_table`` (keyed by as_of_date, tenant_id, customer_id, with the status of that
    day: customer_scores or customer_features) that was ACTIVE on ``as_of_date``.

    With ``active_since``, only the customers **at risk**: those that had not already churned
    by the same silence definition before the window, i.e. had an activity in
    [active_since, window_start), or were created at or after ``active_since`` (too new to have
    been silent that long; a creation the history never recorded counts as older). That part
    reads before the window, as the features do; the label itself never does.

    Churned means, within [window_start, window_end), by the profile history (``history_table``,
    versions in force from their updated_at): a version took effect that is neither ACTIVE nor
    MERGED, or soft-deleted the profile; or the profile vanished from the CRM before the window
    closed; or the customer had no activity at all. Only the window is read: nothing before
    the population's day, nothing after the window.
    """
    carried = "".join(f"population.{_column(column)}, " for column in carried_columns)
    at_risk = "" if active_since is None else f"and {_at_risk(history_table, activities_table)}"
    # The probes are one (customer_id, ...) index range per customer.
    query = text(
        f"""
        select population.tenant_id, population.customer_id, {carried}
               (
                   exists (
                       select from {history_table} as versions
                       where versions.customer_id = population.customer_id
                         and versions.dbt_valid_from >= :window_start
                         and versions.dbt_valid_from < :window_end
                         and (versions.status not in (:evaluated, :merged)
                              or versions.deleted_at < :window_end)
                   )
                   or coalesce(  -- its last version closed by a capture that no longer found it
                       (select max(coalesce(versions.dbt_valid_to, 'infinity'))
                        from {history_table} as versions
                        where versions.customer_id = population.customer_id) < :window_end,
                       false  -- a customer the history never saw: no evidence
                   )
                   or not exists (
                       select from {activities_table} as activities
                       where activities.customer_id = population.customer_id
                         and activities.occurred_at >= :window_start
                         and activities.occurred_at < :window_end
                   )
               ) as churned
        {_ACTIVE_ON_THE_DAY.format(population_table=population_table)}
          {at_risk}
        order by population.tenant_id, population.customer_id
        """
    )
    with engine.connect() as connection:
        return pd.read_sql_query(
            query,
            connection,
            params=_active_on_the_day(as_of_date, tenant_ids)
            | {"window_start": window_start, "window_end": window_end, "merged": MERGED_STATUS}
            | ({} if active_since is None else {"active_since": active_since}),
        )


def create_model_population(
    connection: Connection,
    *,
    features_table: str,
    history_table: str,
    activities_table: str,
    as_of_date: date,
    tenant_ids: Sequence[str],
    as_of: datetime,
    active_since: datetime | None,
) -> tuple[int, int]:
    """pg_temp.model_population (tenant_id, customer_id, kept) of the customers ACTIVE on
    ``as_of_date`` in ``features_table`` (customer_features) and, with ``active_since``, at risk
    at ``as_of`` as :func:`observed_churn` keeps them (``kept``): the customers the learned
    model's predictions are for. Dropped when the transaction ends; reads nothing at or after
    ``as_of``. Returns (ACTIVE customers, customers kept)."""
    at_risk = _at_risk(history_table, activities_table)
    # The latest activity before as_of, if no earlier than active_since, is one the probe looks
    # for: the day's features already know it, and only the quiet customers pay for a probe.
    kept = "true" if active_since is None else f"(population.last_activity_at >= :active_since or {at_risk})"
    connection.execute(
        text(
            f"""
            create temporary table model_population on commit drop as
            select population.tenant_id, population.customer_id, {kept} as kept
            {_ACTIVE_ON_THE_DAY.format(population_table=features_table)}
            """
        ),
        _active_on_the_day(as_of_date, tenant_ids) | {"window_start": as_of, "active_since": active_since},
    )
    active, kept_count = connection.execute(
        text("select count(*), count(*) filter (where kept) from pg_temp.model_population")
    ).one()
    connection.execute(text("analyze pg_temp.model_population"))
    return active, kept_count


# The population's customers ACTIVE on the day, of the given tenants: what both queries start from.
_ACTIVE_ON_THE_DAY = """from {population_table} as population
        where population.as_of_date = :as_of_date
          and population.tenant_id = any(:tenants)
          and population.status = :evaluated"""


def _active_on_the_day(as_of_date: date, tenant_ids: Sequence[str]) -> dict[str, object]:
    return {"as_of_date": as_of_date, "tenants": list(tenant_ids), "evaluated": EVALUATED_STATUS}


def _at_risk(history_table: str, activities_table: str) -> str:
    """Not already churned at the window's start: an activity in [active_since, window_start),
    or a customer younger than that (created_at never changes: any version has the CRM's value)."""
    return _AT_RISK_CONDITION.format(history_table=history_table, activities_table=activities_table)


_AT_RISK_CONDITION = """(
              exists (
                  select from {activities_table} as activities
                  where activities.customer_id = population.customer_id
                    and activities.occurred_at >= :active_since
                    and activities.occurred_at < :window_start
              )
              or exists (
                  select from {history_table} as versions
                  where versions.customer_id = population.customer_id
                    and isfinite(versions.created_at)
                    and versions.created_at >= :active_since
              )
          )"""


def _column(name: str) -> str:
    """Carried columns are the caller's constants; anything else fails closed."""
    if not _COLUMN.match(name):
        raise ValueError(f"{name!r} is not a plain column name")
    return name
