"""The API served over real HTTP on this test's event loop, and the end-to-end stack around each provider's fake.

``serve_app`` is what every test needs whose other parties (a worker process, a provider fake posting webhooks)
must reach the API over the network. The fixtures (registered by the conftest through ``pytest_plugins``) build
the provider stack: ``fake`` runs once per provider (Paystack, Yoco, Stripe), ``stack`` serves the API for it with
the real worker, and ``late_grace`` and ``payment_window`` are the settings a test parametrizes when it needs to.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from temporalio.client import Client

from boxoffice.api.app import create_app
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Refund
from boxoffice.payments.providers import Providers
from boxoffice.refunds.contract import RefundProgress
from boxoffice.refunds.workflow import RefundWorkflow
from tests.checkout_helpers import checkout, hold
from tests.fakes import FakeProvider, PaystackFake, StripeFake, YocoFake, running
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type

PROVIDERS = ["paystack", "yoco", "stripe"]


# --- the app over real HTTP --------------------------------------------------------------------------------------


def free_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1, for uvicorn to serve on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serve_app(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """Serve the app (lifespan included) with uvicorn on this event loop, on the bound socket; the socket is closed
    once the server has stopped."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    async with app.router.lifespan_context(app):
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                assert not task.done() and time.monotonic() < deadline, "the app did not start serving"
                await asyncio.sleep(0.01)
            yield
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 15)
            sock.close()


# --- the stack around a provider's fake --------------------------------------------------------------------------


@dataclass
class Stack:
    provider: str
    fake: Any
    api: httpx.AsyncClient
    db: Database
    temporal: Client
    tokens: Tokens
    settings: Settings

    async def buy(self, qty: int = 2, user: str = "alice") -> dict[str, Any]:
        """Hold ``qty`` tickets at 5000 (+300 fee, +200 tip) and check out with this provider; the pending order."""
        admin = self.tokens.admin()
        event = await make_event(self.api, admin, service_fee_fixed_cents=300)
        tt = await make_ticket_type(self.api, admin, event["id"], capacity=10, base_price_cents=5000)
        held = await hold(self.api, self.tokens, tt["id"], qty, user=user)
        r = await checkout(self.api, self.tokens, [held], user=user, provider=self.provider, tip_cents=200)
        assert r.status_code == 201, r.text
        assert r.json()["payment_url"], r.json()
        order = await self.order(r.json()["order_id"])
        return {**order, "ticket_type": tt, "event": event}

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await self.api.get(f"/v1/orders/{order_id}", headers=self.tokens.admin())
        assert r.status_code == 200, r.text
        order: dict[str, Any] = r.json()
        return order

    async def wait(self, order_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = await self.order(order_id)
            if done(order):
                return order
            assert time.monotonic() < deadline, f"timed out waiting; order is {order}"
            await asyncio.sleep(0.1)

    async def wait_paid(self, order_id: str) -> dict[str, Any]:
        """The order once paid and its checkout run has finished (no provider call of it is still in flight)."""
        order = await self.wait(order_id, paid)
        await asyncio.wait_for(self.temporal.get_workflow_handle(order["workflow_id"]).result(), 30)
        return order

    async def pay(self, order: dict[str, Any]) -> Any:
        return await self.fake.complete_payment(order["transaction"]["provider_reference"])

    async def refund(self, order_id: str, **body: Any) -> dict[str, Any]:
        r = await self.api.post(f"/v1/orders/{order_id}/refunds", json=body, headers=self.tokens.admin())
        assert r.status_code == 202, r.text
        refund: dict[str, Any] = r.json()
        return refund

    async def provider_refund_id(self, refund_id: str, *, other_than: str | None = None, timeout: float = 20) -> str:
        """The provider's id of our refund once the provider has it (and, after a re-send, the new one)."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.db.session() as s:
                row = await s.get(Refund, uuid.UUID(refund_id))
            if row is not None and row.provider_refund_id and row.provider_refund_id != other_than:
                return row.provider_refund_id
            assert time.monotonic() < deadline, f"the provider never got refund {refund_id}"
            await asyncio.sleep(0.1)

    async def settle(self, provider_refund_id: str, succeed: bool = True) -> None:
        key: Any = int(provider_refund_id) if self.provider == "paystack" else provider_refund_id
        await self.fake.settle_refund(key, succeed=succeed)

    async def refunded(self, refund_id: str, timeout: float = 30) -> RefundProgress:
        handle = self.temporal.get_workflow_handle_for(RefundWorkflow.run, f"refund-{refund_id}")
        return await asyncio.wait_for(handle.result(), timeout)


def make_fake(provider: str) -> FakeProvider:
    fakes: dict[str, type[FakeProvider]] = {"paystack": PaystackFake, "yoco": YocoFake, "stripe": StripeFake}
    return fakes[provider]()


def provider_settings(provider: str, fake: Any) -> dict[str, Any]:
    """The BOXOFFICE_* settings that point a provider at its fake (Yoco's fake key is sk_live_: refunds work)."""
    if provider == "paystack":
        return {"paystack_secret_key": fake.secret_key, "paystack_base_url": fake.base_url}
    if provider == "yoco":
        return {
            "yoco_secret_key": fake.secret_key,
            "yoco_webhook_secret": fake.webhook_secret,
            "yoco_base_url": fake.api_url,
        }
    return {
        "stripe_secret_key": fake.secret_key,
        "stripe_webhook_secret": fake.webhook_secret,
        "stripe_base_url": fake.api_url,
    }


def paid(order: dict[str, Any]) -> bool:
    return order["status"] in ("paid", "fulfilled")


def refund_path(provider: str) -> str:
    return {"paystack": "/refund", "yoco": "/api/checkouts/", "stripe": "/v1/refunds"}[provider]


def init_path(provider: str) -> str:
    return {"paystack": "/transaction/initialize", "yoco": "/api/checkouts", "stripe": "/v1/checkout/sessions"}[
        provider
    ]


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
def late_grace() -> int:
    """Seconds a timed-out checkout keeps listening for a late payment (tests parametrize it when they need it)."""
    return 0


@pytest.fixture
def payment_window() -> int:
    """Seconds the buyer has to pay (short: timeouts and polling finish fast; tests of the timeout shorten it)."""
    return 10


@pytest.fixture(params=PROVIDERS)
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each provider's fake in turn, served over real HTTP."""
    with running(make_fake(request.param)) as served:
        yield served


@pytest.fixture
async def stack(
    fake: Any,
    db: Database,
    temporal: Client,
    tmp_path: Path,
    task_queue: str,
    tokens: Tokens,
    late_grace: int,
    payment_window: int,
) -> AsyncIterator[Stack]:
    """The API over real HTTP on a free port (in this event loop, sharing the database and Temporal client), the
    worker, and the fake posting its webhooks to ``/v1/webhooks/{provider}``."""
    from boxoffice.worker import build_workers

    sock = free_socket()
    url = url_of(sock)
    settings = settings_for(
        tmp_path,
        db.engine.url.render_as_string(hide_password=False),
        task_queue,
        public_url=url,
        payment_window_seconds=payment_window,
        payment_poll_interval_seconds=1,
        late_payment_grace_seconds=late_grace,
        **provider_settings(fake.name, fake),
    )
    providers = Providers(settings)
    app = create_app(settings, db=db, temporal=temporal, providers=providers)
    fake.webhook_url = f"{url}/v1/webhooks/{fake.name}"
    workers = list(build_workers(temporal, db, settings, providers=providers))
    try:
        async with serve_app(app, sock), workers[0], workers[1], httpx.AsyncClient(base_url=url, timeout=30) as api:
            yield Stack(fake.name, fake, api, db, temporal, tokens, settings)
    finally:
        await providers.aclose()
