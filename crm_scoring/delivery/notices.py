"""Notices posted straight to the operator's webhook (a failed scoring run), with bounded retries
and backoff; unlike churn alerts they have no outbox: the caller records the returned status."""

from __future__ import annotations

import json
import time

from crm_scoring.delivery import webhook


def post_json(url: str, payload: dict, *, attempts: int = 3, backoff_seconds: float = 1.0) -> str:
    """Returns a short status for the record ("delivered: 200", "failed: …"); never raises."""
    body = json.dumps(payload, default=str).encode()
    last = "not attempted"
    for attempt in range(attempts):
        outcome = webhook.post(url, body, {})
        if outcome.error is None:
            return f"delivered: {outcome.status}"
        last = f"failed: {outcome.error}"
        if attempt + 1 < attempts:
            time.sleep(backoff_seconds * 2**attempt)
    return last
