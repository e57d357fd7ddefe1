"""One POST to the operator's webhook, and what counts as delivered: a 2xx answer to that POST.

Redirects are never followed, 307 and 308 included: urllib would turn a POST answered by a
301/302/303 into a GET without the body (the alert lost, yet "delivered"), and following any
redirect would send the alert to wherever the Location points. A 3xx is a failed attempt whose
error names the Location, so the operator can correct the configured URL.

Signing, when CRM_SCORING_WEBHOOK_SECRET is set: `X-CRM-Scoring-Timestamp: <unix seconds>` and
`X-CRM-Scoring-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + exact body bytes)>`.
The receiver recomputes it over the raw body, compares in constant time and rejects stale
timestamps (say, older than 5 minutes): the timestamp is signed, so a captured post cannot be
replayed later under a fresh one. The secret is only ever an HMAC key: never in a header, an
error or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

WEBHOOK_SECRET_ENV = "CRM_SCORING_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-CRM-Scoring-Signature"
TIMESTAMP_HEADER = "X-CRM-Scoring-Timestamp"
TIMEOUT_SECONDS = 10
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PostOutcome:
    status: int | None  # the HTTP status, None when there was no valid answer
    error: str | None  # None exactly when the receiver accepted the POST (2xx)


class _RedirectsAreAnswers(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl) -> None:
        return None  # urllib then raises HTTPError with the 3xx, which post() records


_opener = urllib.request.build_opener(_RedirectsAreAnswers)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(body: bytes) -> dict[str, str]:
    """The signing headers for `body`, none when no secret is configured."""
    secret = os.environ.get(WEBHOOK_SECRET_ENV)
    if not secret:
        return {}
    timestamp = int(time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def post(url: str, body: bytes, headers: Mapping[str, str]) -> PostOutcome:
    """POSTs `body` as JSON, signed when a secret is configured; never raises."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers, **signature_headers(body)},
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return PostOutcome(response.status, None)  # urllib raises for anything but 2xx
    except urllib.error.HTTPError as exc:
        with exc:
            if 300 <= exc.code < 400:
                location = exc.headers.get("Location", "no Location")
                error = f"HTTP {exc.code} redirect to {location} (not followed)"
            else:
                error = f"HTTP {exc.code}"
            return PostOutcome(exc.code, error[:MAX_ERROR_CHARS])
    except Exception as exc:
        # Anything else (refused, timeout, a malformed answer that http.client rejects) is a
        # failed attempt of this one post, recorded by the caller: it must not stop the others.
        return PostOutcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
