"""The FastAPI application factory."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram
from temporalio.client import Client

from boxoffice.api import problems
from boxoffice.api.routes import catalogue, holds, ops
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.temporal import TemporalHandle

REQUESTS = Counter("boxoffice_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("boxoffice_http_request_seconds", "HTTP request latency", ["method", "route"])


def create_app(settings: Settings, *, db: Database | None = None, temporal: Client | None = None) -> FastAPI:
    """Build the app. ``db`` and ``temporal`` may be injected (tests); otherwise they are made in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_db = db is None
        app.state.db = db or Database(settings.resolved_database_url)
        app.state.temporal = TemporalHandle(settings.temporal_address, settings.temporal_namespace, temporal)
        try:
            yield
        finally:
            if owned_db:
                await app.state.db.dispose()

    app = FastAPI(title="Boxoffice", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.known_orgs = set()
    problems.install(app)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUESTS.labels(request.method, path, response.status_code).inc()
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        response.headers["x-request-id"] = request_id
        return response

    for module in (ops, catalogue, holds):
        app.include_router(module.router)
    return app
