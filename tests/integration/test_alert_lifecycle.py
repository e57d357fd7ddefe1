"""Alert lifecycle and webhook delivery on real PostgreSQL and a real local HTTP server that
fails, then recovers."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from crm_scoring.app import operations
from crm_scoring.defs.alert_lifecycle import _apply_day
from crm_scoring.delivery.outbox_sender import deliver_pending
from crm_scoring.rules.alerts import alert_id
from crm_scoring.scope import DayScope, as_of_instant
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def scored(instance, engine, settings, scored_day_state, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("scored")
    scored_day_state.restore()  # the first run, on empty alert_episodes and alert_outbox
    registered = operations.sync_tenants(instance, engine, settings)
    # the second run is a rerun of the same day
    [outcome] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert outcome.success


def _rows(engine, sql: str) -> list:
    with engine.connect() as connection:
        return connection.execute(text(sql)).all()


def test_the_graph_opens_one_alert_and_one_delivery_even_when_rerun(scored, engine, settings) -> None:
    out = settings.analytics_schema
    episodes = _rows(
        engine, f"select alert_id, customer_id, opened_on, resolved_on from {out}.alert_episodes"
    )
    assert [(e.customer_id, e.opened_on, e.resolved_on) for e in episodes] == [("c2", dataset.DAY, None)]
    outbox = _rows(engine, f"select idempotency_key, payload from {out}.alert_outbox")
    assert [row.idempotency_key for row in outbox] == [alert_id("acme", "c2", str(dataset.DAY))]
    assert outbox[0].payload["churn_risk_score"] == 91


def test_lifecycle_over_days_then_delivery_through_failures(scored, engine, settings) -> None:
    out = settings.analytics_schema
    start = date(2026, 4, 1)

    def day(n: int) -> date:
        return start + timedelta(days=n)

    # x9 alerts on days 0-1, drops on 2, alerts on 4 (within the 14-day cooldown), drops on 5,
    # alerts again on 25 (20 days after resolving: a new alert).
    alert_days = {0: 85, 1: 88, 4: 82, 25: 90}
    with engine.begin() as connection:
        for n, score in alert_days.items():
            connection.execute(
                text(f"insert into {out}.churn_alerts values (:id, :d, 'acme', 'x9', :s, 10, now(), 'test')"),
                {"id": f"x9-{n}", "d": day(n), "s": score},
            )
    for n in (0, 1, 2, 4, 5, 25):
        scope = DayScope(day(n), ("acme",), as_of_instant(day(n), settings.tz))
        with engine.begin() as connection:
            _apply_day(connection, out, scope, cooldown=14)
    episodes = _rows(
        engine,
        f"select alert_id, opened_on, opened_score, last_seen_on, last_score, resolved_on "
        f"from {out}.alert_episodes where customer_id = 'x9' order by opened_on",
    )
    assert [(e.opened_on, e.last_seen_on, e.resolved_on) for e in episodes] == [
        (day(0), day(4), day(5)),  # re-opened on day 4 inside the cooldown: same alert
        (day(25), day(25), None),
    ]
    # opened at day 0's 85, last seen at day 4's 82; the new alert at day 25's 90
    assert [(e.opened_score, e.last_score) for e in episodes] == [(85, 82), (90, 90)]

    received: list[tuple[str, int]] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the first 3 requests fail, then the endpoint recovers
            json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = 500 if len(received) < 3 else 200
            received.append((self.headers["Idempotency-Key"], status))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    try:
        t0 = datetime.now(UTC) + timedelta(minutes=1)  # outbox rows are due from their creation
        first = deliver_pending(engine, out, url, now=t0)
        assert (first.delivered, first.failed) == (0, 3)  # c2 and x9's two alerts
        assert deliver_pending(engine, out, url, now=t0 + timedelta(seconds=10)).failed == 0  # backing off
        second = deliver_pending(engine, out, url, now=t0 + timedelta(seconds=31))
        assert (second.delivered, second.failed) == (3, 0)
        assert deliver_pending(engine, out, url, now=t0 + timedelta(hours=1)).delivered == 0  # nothing twice
    finally:
        server.shutdown()
    accepted = [key for key, status in received if status == 200]
    assert sorted(accepted) == sorted({key for key, _ in received})  # each key accepted exactly once
    assert len(accepted) == 3
    outbox = _rows(engine, f"select attempts, delivered_at, last_error from {out}.alert_outbox")
    assert all(
        row.attempts == 2 and row.delivered_at is not None and row.last_error is None for row in outbox
    )
