"""Request ids and HTTP metrics as a plain ASGI middleware (no extra task or stream per request)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Histogram

REQUESTS = Counter("boxoffice_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("boxoffice_http_request_seconds", "HTTP request latency", ["method", "route"])


class RequestContext:
    """Binds ``request_id`` for the logs, echoes it as ``x-request-id`` and records count and latency by route."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = given.decode("latin-1")[:128] if given else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            path = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], path, status).inc()
            LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)
