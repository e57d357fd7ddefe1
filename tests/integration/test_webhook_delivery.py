"""Webhook posts against a real local HTTP server: only a 2xx answer to the POST itself is a
delivery, one bad row never holds up the others nor survives a crash as undelivered work, and
posts carry an HMAC signature when a secret is configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from crm_scoring.delivery.notices import post_json
from crm_scoring.delivery.outbox_sender import deliver_pending

pytestmark = pytest.mark.integration

CREATED = datetime(2026, 1, 1, tzinfo=UTC)  # every test row is due from then on
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[BaseHTTPRequestHandler, Received], None]


def answer_ok(handler: BaseHTTPRequestHandler, _: Received) -> None:
    handler.send_response(200)
    handler.end_headers()


@contextmanager
def receiver(answer: Answer) -> Iterator[tuple[str, list[Received]]]:
    """A real HTTP server on 127.0.0.1; `answer` writes each response. Yields the base URL and
    the requests received, in order."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {name.lower(): value for name, value in self.headers.items()}  # names are case-blind
            request = Received(self.command, self.path, headers, self.rfile.read(length))
            received.append(request)
            answer(self, request)

        do_GET = do_POST = _handle

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def outbox(engine, settings) -> Callable[..., None]:
    """Empties the outbox, then adds rows with the given keys, due in that order."""
    out = settings.analytics_schema
    with engine.begin() as connection:
        connection.execute(text(f"truncate {out}.alert_outbox"))

    def add(*keys: str) -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"insert into {out}.alert_outbox (idempotency_key, tenant_id, payload, created_at, "
                    "next_attempt_at) values (:key, 'acme', cast(:payload as jsonb), :created, :created)"
                ),
                [
                    {
                        "key": key,
                        "payload": json.dumps({"alert_id": key, "churn_risk_score": 91}),
                        "created": CREATED + timedelta(seconds=n),
                    }
                    for n, key in enumerate(keys)
                ],
            )

    return add


def outbox_rows(engine, settings) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "select idempotency_key, attempts, next_attempt_at, delivered_at, last_error "
                f"from {settings.analytics_schema}.alert_outbox"
            )
        ).all()
    return {row.idempotency_key: row for row in rows}


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_a_failed_attempt_not_a_delivery(status, outbox, engine, settings) -> None:
    def redirect_posts(handler: BaseHTTPRequestHandler, request: Received) -> None:
        if request.method == "POST":
            handler.send_response(status)
            handler.send_header("Location", "/moved")
        else:
            handler.send_response(200)
        handler.end_headers()

    outbox("k1")
    with receiver(redirect_posts) as (base, received):
        report = deliver_pending(engine, settings.analytics_schema, f"{base}/alerts", now=NOW)
    assert (report.delivered, report.failed) == (0, 1)
    assert [(r.method, r.path) for r in received] == [("POST", "/alerts")]  # the redirect not followed
    row = outbox_rows(engine, settings)["k1"]
    assert row.delivered_at is None
    assert row.attempts == 1
    assert str(status) in row.last_error and "/moved" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=30)  # first backoff: 30 s


def test_a_failure_notice_answered_by_a_redirect_is_not_delivered() -> None:
    def redirect_posts(handler: BaseHTTPRequestHandler, request: Received) -> None:
        handler.send_response(302 if request.method == "POST" else 200)
        handler.send_header("Location", "/moved")
        handler.end_headers()

    with receiver(redirect_posts) as (base, received):
        status = post_json(f"{base}/hook", {"event": "scoring_run_failed"}, attempts=1)
    assert status.startswith("failed: ") and "302" in status and "/moved" in status
    assert [r.method for r in received] == ["POST"]


def test_a_malformed_answer_backs_off_one_row_while_the_others_go_out(outbox, engine, settings) -> None:
    def garble_bad(handler: BaseHTTPRequestHandler, request: Received) -> None:
        if request.headers["idempotency-key"] == "bad":
            handler.wfile.write(b"this is not HTTP\r\n\r\n")  # http.client raises on it
            handler.close_connection = True
        else:
            answer_ok(handler, request)

    outbox("first", "bad", "last")
    with receiver(garble_bad) as (base, _):
        report = deliver_pending(engine, settings.analytics_schema, f"{base}/alerts", now=NOW)
    assert (report.delivered, report.failed) == (2, 1)
    rows = outbox_rows(engine, settings)
    for key in ("first", "last"):
        assert rows[key].delivered_at is not None and rows[key].attempts == 1
    bad = rows["bad"]
    assert bad.delivered_at is None
    assert bad.attempts == 1
    assert bad.next_attempt_at == NOW + timedelta(seconds=30)
    assert bad.last_error


def test_a_crash_mid_batch_keeps_the_deliveries_already_made(outbox, engine, settings, database_url) -> None:
    """The deliverer is killed while the second row is in flight: the first row, accepted by
    the receiver, stays delivered, so a restart does not send it again."""
    second_in_flight = threading.Event()
    release = threading.Event()

    def hang_on_second(handler: BaseHTTPRequestHandler, request: Received) -> None:
        if request.headers["idempotency-key"] == "second":
            second_in_flight.set()
            release.wait(30)
        answer_ok(handler, request)

    outbox("first", "second", "third")
    script = (
        "import sys; from sqlalchemy import create_engine; "
        "from crm_scoring.delivery.outbox_sender import deliver_pending; "
        "deliver_pending(create_engine(sys.argv[1]), sys.argv[2], sys.argv[3])"
    )
    with receiver(hang_on_second) as (base, received):
        deliverer = subprocess.Popen(
            [sys.executable, "-c", script, database_url, settings.analytics_schema, f"{base}/alerts"],
            env=os.environ.copy(),
        )
        try:
            assert second_in_flight.wait(60), "the deliverer never reached the second row"
            deliverer.send_signal(signal.SIGKILL)
            deliverer.wait(30)
        finally:
            release.set()
            if deliverer.poll() is None:
                deliverer.kill()
    rows = outbox_rows(engine, settings)
    assert rows["first"].delivered_at is not None
    assert rows["second"].delivered_at is None and rows["third"].delivered_at is None
    # a restart sends the in-flight and the untouched rows, never the delivered one again
    with receiver(answer_ok) as (base, received):
        report = deliver_pending(engine, settings.analytics_schema, f"{base}/alerts", now=NOW)
    assert report.delivered == 2
    assert sorted(r.headers["idempotency-key"] for r in received) == ["second", "third"]


def expected_signature(secret: str, request: Received) -> str:
    """The documented scheme: HMAC-SHA256 over "<timestamp>.<exact body>", hex."""
    timestamp = request.headers["x-crm-scoring-timestamp"]
    signed = timestamp.encode() + b"." + request.body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def test_posts_are_signed_when_a_secret_is_set(outbox, engine, settings, monkeypatch) -> None:
    secret = "whsec-test-0123456789"
    monkeypatch.setenv("CRM_SCORING_WEBHOOK_SECRET", secret)
    outbox("k1")
    with receiver(answer_ok) as (base, received):
        assert deliver_pending(engine, settings.analytics_schema, f"{base}/alerts", now=NOW).delivered == 1
        assert post_json(f"{base}/hook", {"event": "scoring_run_failed"}, attempts=1) == "delivered: 200"
    assert len(received) == 2
    for request in received:
        assert request.headers["x-crm-scoring-signature"] == expected_signature(secret, request)
        assert abs(int(request.headers["x-crm-scoring-timestamp"]) - time.time()) < 60
        assert secret not in json.dumps(request.headers) + request.body.decode()
    # a replayed body under a new timestamp does not verify
    replayed = Received(
        "POST",
        "/alerts",
        {**received[0].headers, "x-crm-scoring-timestamp": str(int(time.time()) + 600)},
        received[0].body,
    )
    assert received[0].headers["x-crm-scoring-signature"] != expected_signature(secret, replayed)


def test_posts_are_unsigned_without_a_secret(outbox, engine, settings, monkeypatch) -> None:
    monkeypatch.delenv("CRM_SCORING_WEBHOOK_SECRET", raising=False)
    outbox("k1")
    with receiver(answer_ok) as (base, received):
        assert deliver_pending(engine, settings.analytics_schema, f"{base}/alerts", now=NOW).delivered == 1
    [request] = received
    assert "x-crm-scoring-signature" not in request.headers
    assert "x-crm-scoring-timestamp" not in request.headers
