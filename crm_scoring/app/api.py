"""The specification's analytics endpoints over the latest distribution tables.

GET /api/v1/analytics/engagement?tenantId=T -> {"distribution": [{"label", "count"}, ...]}
GET /api/v1/analytics/churn-risk?tenantId=T -> {"critical", "high", "medium", "low", "total"}

Each caller holds a bearer token bound to one tenant (stored as a SHA-256 hash): no token or
an unknown one is 401, a token for another tenant 403, a tenant with no scores yet 404, an
unreachable database 503 with Retry-After. The as_of_date answered for is in the X-As-Of-Date
header, so the bodies keep the specification's exact shapes. Starlette and uvicorn come with
dagster-webserver, so nothing is added.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Row
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_scoring.rules.distributions import CHURN_RISK_BANDS, ENGAGEMENT_BUCKETS
from crm_scoring.warehouse.api_tokens import tenant_of_token
from crm_scoring.warehouse.reads import latest_day
from crm_scoring.warehouse.summaries import churn_risk_overview, engagement_distribution

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# The database cannot be reached (down, restarting, dropped, every pooled connection busy): the
# request was fine, so the client should come back, not see a 500.
_OUTAGE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_REFUSAL_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": str(RETRY_AFTER_SECONDS)}}


class _DatabaseHealth:
    """Logs an outage once when requests stop reaching the database and once when they reach
    it again, instead of a traceback per request in between."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False

    def unreachable(self, error: Exception) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        log.error("database unavailable, answering 503 until it is back: %s", reason)

    def reached(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        log.warning("database reachable again: answering requests")


def create_app(engine: Engine, analytics_schema: str) -> Starlette:
    schema = analytics_schema
    health = _DatabaseHealth()

    @contextmanager
    def database() -> Iterator[Connection]:
        try:
            with engine.connect() as connection:
                yield connection
        except _OUTAGE_ERRORS as error:
            health.unreachable(error)
            raise _Refused(503, "the database is unavailable; retry later") from error
        health.reached()

    def authorised_tenant(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _Refused(401, "missing bearer token")
        with database() as connection:
            token_tenant = tenant_of_token(connection, schema, token)
        if token_tenant is None:
            raise _Refused(401, "invalid or revoked token")
        tenant = request.query_params.get("tenantId")
        if not tenant:
            raise _Refused(400, "tenantId is required")
        if tenant != token_tenant:
            raise _Refused(403, "this token is not valid for that tenant")
        return tenant

    def latest(table: str, tenant: str, rows_of_day: Callable[..., list[Row]]) -> tuple[str, list[Row]]:
        with database() as connection:
            day = latest_day(connection, f"{schema}.{table}", tenant)
            if day is None:
                raise _Refused(404, "no scores for this tenant yet")
            rows = rows_of_day(connection, schema, tenant, day)
        return day.isoformat(), rows

    def handle(build):
        def endpoint(request: Request) -> JSONResponse:
            try:
                day, body = build(authorised_tenant(request))
            except _Refused as refusal:
                return JSONResponse(
                    {"message": str(refusal)}, refusal.status, headers=_REFUSAL_HEADERS.get(refusal.status)
                )
            return JSONResponse(body, headers={"X-As-Of-Date": day})

        return endpoint

    def engagement(tenant: str) -> tuple[str, dict]:
        day, rows = latest("engagement_distribution", tenant, engagement_distribution)
        return day, {"distribution": [{"label": r.label, "count": r.customer_count} for r in rows]}

    def churn_risk(tenant: str) -> tuple[str, dict]:
        day, rows = latest("churn_risk_overview", tenant, churn_risk_overview)
        return day, dict(rows[0]._mapping)

    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    return Starlette(
        routes=[
            Route("/api/v1/analytics/engagement", handle(engagement)),
            Route("/api/v1/analytics/churn-risk", handle(churn_risk)),
            Route("/openapi.json", openapi),
        ]
    )


def _operation(summary: str, schema_ref: str) -> dict:
    return {
        "summary": summary,
        "tags": ["analytics"],
        "security": [{"bearer": []}],
        "parameters": [{"name": "tenantId", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {
                "description": "The latest as_of_date's figures (also in the X-As-Of-Date header).",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
            },
            "400": {"description": "tenantId missing"},
            "401": {"description": "No, unknown or revoked bearer token"},
            "403": {"description": "The token belongs to another tenant"},
            "404": {"description": "The tenant has no scores yet"},
            "503": {"description": "The database is unavailable; retry after the Retry-After seconds"},
        },
    }


_COUNT = {"type": "integer", "minimum": 0}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "crm-scoring analytics", "version": "1.0.0"},
    "paths": {
        "/api/v1/analytics/engagement": {
            "get": _operation("Get engagement distribution", "EngagementDistribution")
        },
        "/api/v1/analytics/churn-risk": {"get": _operation("Get churn risk overview", "ChurnRiskOverview")},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "EngagementDistribution": {
                "type": "object",
                "required": ["distribution"],
                "properties": {
                    "distribution": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["label", "count"],
                            "properties": {
                                "label": {"type": "string", "enum": [b.label for b in ENGAGEMENT_BUCKETS]},
                                "count": _COUNT,
                            },
                        },
                    }
                },
            },
            "ChurnRiskOverview": {
                "type": "object",
                "required": [*(band.name for band in CHURN_RISK_BANDS), "total"],
                "properties": {**{band.name: _COUNT for band in CHURN_RISK_BANDS}, "total": _COUNT},
            },
        },
    },
}
