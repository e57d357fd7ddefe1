"""Delivering new churn alerts from the outbox to a webhook: at least once, each with an
Idempotency-Key, retried with exponential backoff. A crash or a dead endpoint delays a
delivery; the outbox row stays until the endpoint answers 2xx, so nothing is lost, and the
receiver dedupes on the key, so nothing is duplicated. Each row's attempt is committed on its
own: a row the endpoint rejects (or answers with garbage) backs off while the others go out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from crm_scoring import webhook

BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


def deliver_pending(
    engine: Engine, schema: str, url: str, *, now: datetime | None = None, limit: int = 200
) -> DeliveryReport:
    now = now or datetime.now(UTC)
    delivered = failed = 0
    for _ in range(limit):
        # One transaction per row: each attempt is committed before the next row goes out, so a
        # crash re-sends at most the row in flight, never rows the endpoint already accepted.
        with engine.begin() as connection:
            # skip locked: two deliverers (sensor ticks overlapping) never send the same row at
            # once; the lock is held while it is in flight
            row = connection.execute(
                text(
                    f"select idempotency_key, payload, attempts from {schema}.alert_outbox "
                    "where delivered_at is null and next_attempt_at <= :now "
                    "order by created_at limit 1 for update skip locked"
                ),
                {"now": now},
            ).first()
            if row is None:
                break
            error = _post(url, row.idempotency_key, row.payload)
            if error is None:
                delivered += 1
                connection.execute(
                    text(
                        f"update {schema}.alert_outbox set delivered_at = :now, attempts = attempts + 1, "
                        "last_error = null where idempotency_key = :key"
                    ),
                    {"now": now, "key": row.idempotency_key},
                )
            else:
                # its next_attempt_at moves past now, so this loop does not pick it again
                failed += 1
                backoff = min(BASE_BACKOFF * 2**row.attempts, MAX_BACKOFF)
                connection.execute(
                    text(
                        f"update {schema}.alert_outbox set attempts = attempts + 1, "
                        "next_attempt_at = :next, last_error = :error where idempotency_key = :key"
                    ),
                    {"next": now + backoff, "error": error, "key": row.idempotency_key},
                )
    return DeliveryReport(delivered, failed)


def _post(url: str, key: str, payload: dict) -> str | None:
    """None when the endpoint accepted the alert, else the error to record."""
    return webhook.post(url, json.dumps(payload).encode(), {"Idempotency-Key": key}).error
