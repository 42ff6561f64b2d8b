"""The FastAPI application factory."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram
from temporalio.client import Client

from boxoffice.api import problems
from boxoffice.api.routes import catalogue, checkouts, holds, ops, sandbox, tickets, webhooks
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.providers import Providers
from boxoffice.storage import storage_from_url
from boxoffice.temporal import TemporalHandle
from boxoffice.ticketing.keys import load_or_create

REQUESTS = Counter("boxoffice_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("boxoffice_http_request_seconds", "HTTP request latency", ["method", "route"])


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    temporal: Client | None = None,
    outbound: httpx.AsyncClient | None = None,
    providers: Providers | None = None,
) -> FastAPI:
    """Build the app. ``db``, ``temporal``, the outbound HTTP client (the sandbox posts its webhooks with it)
    and ``providers`` may be injected (tests); otherwise they are made in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_db = db is None
        app.state.db = db or Database(settings.resolved_database_url)
        app.state.temporal = TemporalHandle(settings.temporal_address, settings.temporal_namespace, temporal)
        app.state.outbound = outbound or httpx.AsyncClient(timeout=httpx.Timeout(15, connect=5))
        app.state.providers = providers or Providers(settings)
        app.state.storage = storage_from_url(settings.resolved_storage_url, settings.s3_endpoint_url)
        assert settings.signing_key_file is not None
        app.state.signing_key = load_or_create(settings.signing_key_file)
        try:
            yield
        finally:
            if owned_db:
                await app.state.db.dispose()
            if outbound is None:
                await app.state.outbound.aclose()
            if providers is None:
                await app.state.providers.aclose()

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

    for module in (ops, catalogue, holds, checkouts, tickets, webhooks, sandbox):
        app.include_router(module.router)
    return app
