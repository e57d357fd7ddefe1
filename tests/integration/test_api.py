"""The specification's analytics routes over real HTTP, against scores from a real run."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn

from crm_scoring import operations
from crm_scoring.api import create_app, create_token
from tests.integration import dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def instance(module_instance):
    """One instance for the module: its tests read the day scored once (see conftest)."""
    return module_instance


@pytest.fixture(scope="module")
def api(instance, engine, settings, load_sources, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("api")
    load_sources(dataset.SOURCES)
    registered = operations.sync_tenants(instance, engine, settings)
    [outcome] = operations.score_day(instance, dataset.DAY, registered, None, tmp_path / "run.log")
    assert outcome.success
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, settings.analytics_schema), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    tokens = {
        tenant: create_token(engine, settings.analytics_schema, tenant) for tenant in ("acme", "globex")
    }
    yield f"http://127.0.0.1:{port}", tokens
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
