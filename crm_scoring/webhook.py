"""One POST to the operator's webhook, and what counts as delivered: a 2xx answer to that POST.

Redirects are never followed, 307 and 308 included: urllib would turn a POST answered by a
301/302/303 into a GET without the body (the alert lost, yet "delivered"), and following any
redirect would send the alert to wherever the Location points. A 3xx is a failed attempt whose
error names the Location, so the operator can correct the configured URL.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

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


def post(url: str, body: bytes, headers: Mapping[str, str]) -> PostOutcome:
    """POSTs `body` as JSON; never raises."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
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
