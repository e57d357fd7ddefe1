"""The webhook outbox (analytics.alert_outbox): new alerts wait here until the endpoint has
accepted them.

Every function runs in the caller's transaction (a Connection): new alerts are queued in the
transaction that opens them, and each delivery attempt is committed on its own.
``schema`` is the analytics schema from validated settings; everything else is bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, text

from crm_scoring.warehouse.writes import as_arrays


def enqueue(connection: Connection, schema: str, alerts: Sequence[Mapping]) -> None:
    """Queues each {"id" (the idempotency key), "tenant", "payload" (JSON text)}. A key already
    queued is left as it is: a rerun that re-opens an alert never sends it twice."""
    if alerts:
        connection.execute(
            text(
                f"insert into {schema}.alert_outbox (idempotency_key, tenant_id, payload) "
                "select id, tenant, cast(payload as jsonb) from unnest(cast(:ids as text[]), "
                "cast(:tenants as text[]), cast(:payloads as text[])) as queued(id, tenant, payload) "
                "on conflict do nothing"
            ),
            as_arrays(alerts, ids="id", tenants="tenant", payloads="payload"),
        )


def claim_next_due(connection: Connection, schema: str, now: datetime) -> Row | None:
    """The oldest undelivered row due at ``now`` (idempotency_key, payload, attempts), locked
    until the transaction ends; rows another deliverer holds are skipped, so two deliverers
    (overlapping sensor ticks) never send the same row at once."""
    return connection.execute(
        text(
            f"select idempotency_key, payload, attempts from {schema}.alert_outbox "
            "where delivered_at is null and next_attempt_at <= :now "
            "order by created_at limit 1 for update skip locked"
        ),
        {"now": now},
    ).first()


def mark_delivered(connection: Connection, schema: str, key: str, now: datetime) -> None:
    connection.execute(
        text(
            f"update {schema}.alert_outbox set delivered_at = :now, attempts = attempts + 1, "
            "last_error = null where idempotency_key = :key"
        ),
        {"now": now, "key": key},
    )


def schedule_retry(
    connection: Connection, schema: str, key: str, next_attempt_at: datetime, error: str
) -> None:
    connection.execute(
        text(
            f"update {schema}.alert_outbox set attempts = attempts + 1, "
            "next_attempt_at = :next, last_error = :error where idempotency_key = :key"
        ),
        {"next": next_attempt_at, "error": error, "key": key},
    )
