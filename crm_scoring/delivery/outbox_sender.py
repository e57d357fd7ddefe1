"""Delivering new churn alerts from the outbox to a webhook: at least once, each with an
Idempotency-Key, retried with exponential backoff. A crash or a dead endpoint delays a
delivery; the outbox row stays until the endpoint answers 2xx, so nothing is lost, and the
receiver dedupes on the key, so nothing is duplicated. Each row's attempt is committed on its
own: a row the endpoint rejects (or answers with garbage) backs off while the others go out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from crm_scoring.delivery import webhook
from crm_scoring.warehouse import alert_outbox

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
            # the row stays locked while it is in flight
            row = alert_outbox.claim_next_due(connection, schema, now)
            if row is None:
                break
            error = _post(url, row.idempotency_key, row.payload)
            if error is None:
                delivered += 1
                alert_outbox.mark_delivered(connection, schema, row.idempotency_key, now)
            else:
                # its next_attempt_at moves past now, so this loop does not pick it again
                failed += 1
                backoff = min(BASE_BACKOFF * 2**row.attempts, MAX_BACKOFF)
                alert_outbox.schedule_retry(connection, schema, row.idempotency_key, now + backoff, error)
    return DeliveryReport(delivered, failed)


def _post(url: str, key: str, payload: dict) -> str | None:
    """None when the endpoint accepted the alert, else the error to record."""
    return webhook.post(url, json.dumps(payload).encode(), {"Idempotency-Key": key}).error
