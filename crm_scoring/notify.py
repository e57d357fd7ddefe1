"""Posting JSON to an operator's webhook, with bounded retries and backoff."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


def post_json(url: str, payload: dict, *, attempts: int = 3, backoff_seconds: float = 1.0) -> str:
    """Returns a short status for the record ("delivered: 200", "failed: …"); never raises."""
    body = json.dumps(payload, default=str).encode()
    last = "not attempted"
    for attempt in range(attempts):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return f"delivered: {response.status}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = f"failed: {exc}"
        if attempt + 1 < attempts:
            time.sleep(backoff_seconds * 2**attempt)
    return last
