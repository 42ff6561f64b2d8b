"""Run an ASGI app on 127.0.0.1 (OS-chosen port) in a background thread, and the pieces every provider fake shares:
request recording, injected 5xx failures, and a webhook outbox that can duplicate, delay, hold, reorder or drop."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]
F = TypeVar("F", bound="FakeProvider")


class FakeServer:
    """Serves ``app`` with uvicorn in a daemon thread. ``start()`` returns once the port is listening."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"fake-server-{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> str:
        """Start serving and return the base URL (``http://127.0.0.1:<port>``)."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` for the duration of the ``with`` block; yields its base URL."""
    server = FakeServer(app)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@contextmanager
def running(fake: F) -> Iterator[F]:
    """Serve a provider fake for the ``with`` block, with its ``base_url`` set; yields the fake."""
    with serve(fake.app) as url:
        fake.base_url = url
        yield fake


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SignedWebhook:
    """One webhook exactly as the provider would send it: headers and raw body bytes."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Delivery:
    webhook: SignedWebhook
    status: int | None  # the target's HTTP status, None when the post failed at the network level


@dataclass
class FakeProvider:
    """State and controls shared by the provider fakes. Subclasses add routes and provider behaviour.

    Webhook controls (all attributes): ``webhook_url`` (None: only recorded in ``emitted``), ``drop_webhooks``,
    ``hold_webhooks`` (queue in ``outbox`` until ``flush_webhooks``), ``duplicate_webhooks`` (copies per event),
    ``webhook_delay`` (seconds). Failure controls: ``fail_next(n, status)``, ``fail_for(seconds, status)``.
    """

    name: str = ""  # the provider this fake plays, as in ``/v1/webhooks/{name}``
    base_url: str = ""
    webhook_url: str | None = None
    drop_webhooks: bool = False
    hold_webhooks: bool = False
    duplicate_webhooks: int = 1
    webhook_delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    emitted: list[SignedWebhook] = field(default_factory=list)
    outbox: list[SignedWebhook] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    idempotency: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _fail_count: int = 0
    _fail_until: float = 0.0
    _fail_status: int = 500

    # --- to be provided by subclasses -------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def error_response(self, status: int, message: str) -> Response:
        raise NotImplementedError

    # --- app --------------------------------------------------------------------------------------------------
    @property
    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    def endpoint(self, handler: Handler) -> Handler:
        """Wrap a route handler: record the request, then apply any injected failure before the handler runs.
        An injected failure models an edge/load-balancer error: nothing is executed or stored (no idempotent replay)."""

        async def wrapped(request: Request) -> Response:
            body = await request.body()
            recorded = RecordedRequest(
                request.method,
                request.url.path,
                list(request.query_params.multi_items()),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
            with self.lock:
                self.requests.append(recorded)
                status = self._take_failure()
            if status is not None:
                return self.error_response(status, "injected failure")
            return await handler(request)

        return wrapped

    def _take_failure(self) -> int | None:
        if self._fail_count > 0:
            self._fail_count -= 1
            return self._fail_status
        if time.monotonic() < self._fail_until:
            return self._fail_status
        return None

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next ``n`` API requests with ``status`` (a provider-shaped error body)."""
        with self.lock:
            self._fail_count, self._fail_status = n, status

    def fail_for(self, seconds: float, status: int = 503) -> None:
        """Answer every API request with ``status`` for the next ``seconds``."""
        with self.lock:
            self._fail_until, self._fail_status = time.monotonic() + seconds, status

    def idempotent(
        self,
        key: str | None,
        fingerprint: str,
        run: Callable[[], tuple[int, dict[str, Any]]],
        mismatch: Callable[[], Response],
        keep: Callable[[int], bool] = lambda status: True,
    ) -> Response:
        """Idempotency-Key semantics: the reply first kept for ``key`` is replayed (header ``Idempotent-Replayed:
        true``) without running again; the same key with another ``fingerprint`` (path and parameters) gets
        ``mismatch()``. Otherwise ``run()`` executes, and its reply is kept when ``keep(status)`` says so."""
        with self.lock:
            if key and key in self.idempotency:
                seen, status, body = self.idempotency[key]
                if seen != fingerprint:
                    return mismatch()
                return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
            status, body = run()
            if key and keep(status):
                self.idempotency[key] = (fingerprint, status, body)
        return JSONResponse(body, status_code=status)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path starts with ``path_prefix``."""
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- webhooks ---------------------------------------------------------------------------------------------
    async def emit(self, webhook: SignedWebhook) -> SignedWebhook:
        """Record a signed webhook and deliver it according to the webhook controls; returns it."""
        with self.lock:
            self.emitted.append(webhook)
            if self.drop_webhooks:
                return webhook
            if self.hold_webhooks:
                self.outbox.append(webhook)
                return webhook
        await self._deliver(webhook)
        return webhook

    async def flush_webhooks(self, *, reverse: bool = False) -> None:
        """Deliver the held webhooks, in order or reversed (to simulate out-of-order delivery)."""
        with self.lock:
            held, self.outbox = self.outbox, []
        for webhook in reversed(held) if reverse else held:
            await self._deliver(webhook)

    async def redeliver(self, webhook: SignedWebhook) -> None:
        """Post an already emitted webhook again (a provider retry: same id, same signature)."""
        await self._deliver(webhook)

    async def _deliver(self, webhook: SignedWebhook) -> None:
        if self.webhook_url is None:
            return
        if self.webhook_delay:
            await asyncio.sleep(self.webhook_delay)
        async with httpx.AsyncClient(timeout=15) as client:
            for _ in range(max(1, self.duplicate_webhooks)):
                try:
                    response = await client.post(self.webhook_url, content=webhook.body, headers=webhook.headers)
                    status: int | None = response.status_code
                except httpx.HTTPError:
                    status = None
                with self.lock:
                    self.deliveries.append(Delivery(webhook, status))


class WebhookSink:
    """A webhook target for tests: records every POST and answers with ``status`` (default 200)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[SignedWebhook] = []

    async def _receive(self, request: Request) -> Response:
        self.received.append(SignedWebhook(dict(request.headers.items()), await request.body()))
        return JSONResponse({"ok": True}, status_code=self.status)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/webhook", self._receive, methods=["POST"])])
