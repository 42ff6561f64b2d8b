"""Plain ASGI middlewares (no extra task or stream per request): request ids and HTTP metrics, and the request
body limit."""

from __future__ import annotations

import json
import time
import uuid
from http import HTTPStatus
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException

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


class PayloadTooLarge(StarletteHTTPException):
    """Raised by the body reader when a request body crosses the limit; ``BodyLimit`` answers it."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body exceeds {limit} bytes")


class BodyLimit:
    """Bounds every request body to ``max_bytes`` and answers 413 ``payload_too_large`` (problem+json) beyond it,
    webhooks and unauthenticated requests included, before authentication or routing look at the request.

    - A declared ``Content-Length`` beyond the limit is refused at once: the app is not called, not a byte read.
    - A body without one (chunked), or one that lies, is counted as it streams in: the chunk that crosses the limit
      raises :class:`PayloadTooLarge` inside the reader, so the app never holds more than ``max_bytes`` plus one
      chunk (the server's read size) and never reads the rest. Whoever renders that exception (FastAPI reading a
      body, a route reading its raw body), the answer is this middleware's 413.
    """

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        crossed = started = replaced = False

        async def counted() -> Any:
            nonlocal seen, crossed
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    crossed = True
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def watched(message: Any) -> None:
            nonlocal started, replaced
            if crossed and not started:  # the app's own rendering of the cut-off body: answer ours instead
                started = replaced = True
                await _too_large(send, self.max_bytes)
                return
            if replaced:
                return  # the rest of the app's answer to a body it never got whole
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except PayloadTooLarge:
            if started:
                raise
            await _too_large(send, self.max_bytes)  # raised where no exception handler rendered it


async def _problem(send: Any, status: int, code: str, detail: str, **extra: Any) -> None:
    """Send a problem+json answer straight to the ASGI ``send``. The server discards whatever of the body is
    still arriving (uvicorn drops it once the response is complete), so the client can read the answer."""
    title = HTTPStatus(status).phrase
    problem = {"type": f"https://boxoffice.dev/problems/{code}", "title": title, "status": status, "detail": detail}
    body = json.dumps({**problem, "code": code, **extra}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Any, limit: int) -> None:
    await _problem(send, 413, "payload_too_large", f"the request body exceeds {limit} bytes", limit=limit)
