"""Alert episodes (analytics.alert_episodes): one row per alert, from the day it opened to the
day it resolved, and the day's churn_alerts they are derived from.

Every function runs in the caller's transaction (a Connection): the churn_alert_episodes asset
undoes, reads and rewrites a day atomically, under its partition locks.
``schema`` is the analytics schema from validated settings; days and tenant ids are bound
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Connection, Row, text

from crm_scoring.rules.alert_lifecycle import Episode
from crm_scoring.warehouse.writes import as_arrays


def undo_day(connection: Connection, schema: str, day: date, tenant_ids: Sequence[str]) -> None:
    """Removes what a run of the day did (the episodes it opened, the resolutions it recorded),
    so that a rerun starts from the day before."""
    params = {"day": day, "tenants": list(tenant_ids)}
    connection.execute(
        text(f"delete from {schema}.alert_episodes where opened_on = :day and tenant_id = any(:tenants)"),
        params,
    )
    connection.execute(
        text(
            f"update {schema}.alert_episodes set resolved_on = null "
            "where resolved_on = :day and tenant_id = any(:tenants)"
        ),
        params,
    )


def churn_alerts_of_day(
    connection: Connection, schema: str, day: date, tenant_ids: Sequence[str]
) -> list[Row]:
    """The day's churn_alerts rows: tenant_id, customer_id, churn_risk_score, alert_source,
    churn_probability, reason."""
    return connection.execute(
        text(
            f"select tenant_id, customer_id, churn_risk_score, alert_source, churn_probability, reason "
            f"from {schema}.churn_alerts where as_of_date = :day and tenant_id = any(:tenants)"
        ),
        {"day": day, "tenants": list(tenant_ids)},
    ).all()


def latest_episodes_before(
    connection: Connection, schema: str, day: date, tenant_ids: Sequence[str]
) -> list[Episode]:
    """Each customer's newest episode opened before ``day`` (open or resolved)."""
    rows = connection.execute(
        text(
            f"select distinct on (tenant_id, customer_id) alert_id, tenant_id, customer_id, "
            f"opened_on, resolved_on from {schema}.alert_episodes "
            "where tenant_id = any(:tenants) and opened_on < :day "
            "order by tenant_id, customer_id, opened_on desc"
        ),
        {"day": day, "tenants": list(tenant_ids)},
    )
    return [
        Episode(row.alert_id, row.tenant_id, row.customer_id, row.opened_on, row.resolved_on) for row in rows
    ]


def insert_opened(connection: Connection, schema: str, opened: Sequence[Mapping]) -> None:
    """New episodes: each {"id", "tenant", "customer", "day", "score"}, seen and scored on the
    day it opened. One statement for all of them (arrays bound as parameters): a day of
    tens of thousands of alerts is not tens of thousands of round trips."""
    if opened:
        connection.execute(
            text(
                f"insert into {schema}.alert_episodes (alert_id, tenant_id, customer_id, opened_on, "
                "opened_score, last_seen_on, last_score) "
                "select id, tenant, customer, day, score, day, score from unnest("
                "cast(:ids as text[]), cast(:tenants as text[]), cast(:customers as text[]), "
                "cast(:days as date[]), cast(:scores as smallint[])) "
                "as opened(id, tenant, customer, day, score)"
            ),
            as_arrays(opened, ids="id", tenants="tenant", customers="customer", days="day", scores="score"),
        )


def mark_seen(connection: Connection, schema: str, seen: Sequence[Mapping]) -> None:
    """Episodes still (or again) alerting: each {"id", "day", "score"}; open from now on. One
    statement for all of them."""
    if seen:
        connection.execute(
            text(
                f"update {schema}.alert_episodes as episodes set last_seen_on = seen.day, "
                "last_score = seen.score, resolved_on = null from unnest(cast(:ids as text[]), "
                "cast(:days as date[]), cast(:scores as smallint[])) as seen(id, day, score) "
                "where episodes.alert_id = seen.id"
            ),
            as_arrays(seen, ids="id", days="day", scores="score"),
        )


def resolve(connection: Connection, schema: str, day: date, alert_ids: Sequence[str]) -> None:
    if alert_ids:
        connection.execute(
            text(f"update {schema}.alert_episodes set resolved_on = :day where alert_id = any(:ids)"),
            {"day": day, "ids": list(alert_ids)},
        )
