"""The specification's analytics routes over real HTTP, against scores from a real run."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
import pytest
import uvicorn
from psycopg2 import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from crm_scoring.app import operations
from crm_scoring.app.api import create_app
from crm_scoring.warehouse.api_tokens import create_token
from crm_scoring.warehouse.urls import warehouse_engine, with_database
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def api(instance, engine, settings, scored_day_state):
    scored_day_state.restore()
    tokens = {
        tenant: create_token(engine, settings.analytics_schema, tenant) for tenant in ("acme", "globex")
    }
    with _serving(create_app(engine, settings.analytics_schema)) as base:
        yield base, tokens


@contextmanager
def _serving(app: Starlette) -> Iterator[str]:
    """The app on a real uvicorn server on a free local port. uvicorn leaves logging alone
    (log_config=None), so its records, tracebacks included, reach pytest's log capture."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def get(url: str, token: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_routes_return_the_specification_shapes_with_correct_numbers(api) -> None:
    base, tokens = api
    status, body, headers = get(f"{base}/api/v1/analytics/engagement?tenantId=acme", tokens["acme"])
    assert status == 200
    assert body == {
        "distribution": [
            {"label": label, "count": count} for label, count in dataset.EXPECTED_ENGAGEMENT["acme"].items()
        ]
    }
    assert headers["x-as-of-date"] == str(dataset.DAY)
    status, body, _ = get(f"{base}/api/v1/analytics/churn-risk?tenantId=globex", tokens["globex"])
    assert status == 200
    assert body == dataset.EXPECTED_OVERVIEW["globex"]


def test_access_is_refused_clearly(api, engine, settings) -> None:
    base, tokens = api
    route = f"{base}/api/v1/analytics/churn-risk"
    assert get(f"{route}?tenantId=acme")[0] == 401
    assert get(f"{route}?tenantId=acme", "not-a-token")[0] == 401
    assert get(f"{route}?tenantId=globex", tokens["acme"])[0] == 403  # cross-tenant
    assert get(route, tokens["acme"])[0] == 400
    unscored = create_token(engine, settings.analytics_schema, "initech")
    assert get(f"{route}?tenantId=initech", unscored)[0] == 404


def test_openapi_document_describes_both_routes(api) -> None:
    base, _ = api
    status, document, _ = get(f"{base}/openapi.json")
    assert status == 200
    assert set(document["paths"]) == {"/api/v1/analytics/engagement", "/api/v1/analytics/churn-risk"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["components"]["schemas"]["ChurnRiskOverview"]["required"] == [
        "critical",
        "high",
        "medium",
        "low",
        "total",
    ]


@pytest.fixture
def outage_database(
    server_url: str, settings
) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A warehouse of its own that the test takes away (dropped with its sessions, as a lost
    server or a failover looks to a client) and brings back empty."""
    name = f"crm_api_outage_{uuid.uuid4().hex[:8]}"
    url = with_database(server_url, name)
    admin_dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def admin(statement: sql.Composable) -> None:
        connection = psycopg2.connect(admin_dsn)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
        connection.close()

    def take_away() -> None:
        admin(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))

    def bring_back() -> None:
        admin(sql.SQL("create database {}").format(sql.Identifier(name)))
        engine = create_engine(url)
        operations.init_db(engine, settings)
        engine.dispose()

    bring_back()
    yield url, take_away, bring_back
    admin(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _request(url: str, token: str) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_a_database_outage_is_a_503_logged_once_and_its_end_once(
    outage_database, settings, caplog: pytest.LogCaptureFixture
) -> None:
    url, take_away, bring_back = outage_database
    engine = warehouse_engine(url)  # as `crm-scoring api` builds it
    token = create_token(engine, settings.analytics_schema, "acme")
    caplog.set_level(logging.INFO, logger="crm_scoring.app.api")
    with _serving(create_app(engine, settings.analytics_schema)) as base:
        route = f"{base}/api/v1/analytics/churn-risk?tenantId=acme"
        assert _request(route, token)[0] == 404  # reachable: no scores yet

        take_away()
        answers = [_request(route, token) for _ in range(3)]
        for status, body, headers in answers:
            assert status == 503, body
            assert json.loads(body) == {"message": "the database is unavailable; retry later"}
            assert headers["retry-after"] == "30"

        bring_back()  # empty: the token is gone with the old database
        assert _request(route, token)[0] == 401
        assert _request(route, token)[0] == 401
    engine.dispose()

    ours = [record for record in caplog.records if record.name == "crm_scoring.app.api"]
    assert [record.levelno for record in ours] == [logging.ERROR, logging.WARNING]
    assert "database unavailable" in ours[0].getMessage()
    assert "database reachable again" in ours[1].getMessage()
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
