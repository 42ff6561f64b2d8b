"""End to end through each provider's fake (Paystack, Yoco, Stripe): the API served over real HTTP, the fakes posting
signed webhooks to it, the real worker and activities, and the books checked after every scenario.

Each scenario runs once per provider. The buyer "pays" through the fake's control API (``complete_payment``…), with the
provider reference the order shows (Paystack: our ``bo-…`` reference; Yoco: the checkout id; Stripe: the session id).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from temporalio.client import Client

from boxoffice.api.app import create_app
from boxoffice.config import Settings, build_settings
from boxoffice.db import Database
from boxoffice.models import Refund
from boxoffice.payments.providers import Providers
from boxoffice.refunds.contract import QUERY_REFUND_STATUS, RefundProgress
from boxoffice.refunds.workflow import RefundWorkflow
from tests.books import assert_books_balanced
from tests.conftest import JWT_SECRET, Tokens
from tests.fakes import PaystackFake, StripeFake, YocoFake, running
from tests.helpers import make_event, make_ticket_type
from tests.test_refunds import assert_refunds_consistent

PROVIDERS = ["paystack", "yoco", "stripe"]


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
        r = await self.api.post(
            "/v1/holds", json={"ticket_type_id": tt["id"], "quantity": qty}, headers=self.tokens.buyer(user)
        )
        assert r.status_code == 201, r.text
        body = {
            "hold_ids": [r.json()["id"]],
            "provider": self.provider,
            "buyer": {"email": f"{user}@example.com", "name": user.title()},
            "tip_cents": 200,
        }
        r = await self.api.post("/v1/checkouts", json=body, headers=self.tokens.buyer(user))
        assert r.status_code == 201, r.text
        assert r.json()["payment_url"], r.json()
        order = await self.order(r.json()["order_id"])
        return {**order, "ticket_type": tt, "event": event}

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await self.api.get(f"/v1/orders/{order_id}", headers=self.tokens.admin())
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

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
        return r.json()  # type: ignore[no-any-return]

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


def make_fake(provider: str) -> Any:
    return {"paystack": PaystackFake, "yoco": YocoFake, "stripe": StripeFake}[provider]()


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
    with running(make_fake(request.param)) as served:
        served.name = request.param
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

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = build_settings(
        env="test",
        data_dir=tmp_path,
        database_url=db.engine.url.render_as_string(hide_password=False),
        jwt_secret=JWT_SECRET,
        checkout_task_queue=task_queue,
        documents_task_queue=f"{task_queue}-docs",
        sandbox_webhook_secret="sandbox-test-secret",
        public_url=url,
        payment_window_seconds=payment_window,
        payment_poll_interval_seconds=1,
        late_payment_grace_seconds=late_grace,
        **provider_settings(fake.name, fake),
    )
    providers = Providers(settings)
    app = create_app(settings, db=db, temporal=temporal, providers=providers)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.01)
    fake.webhook_url = f"{url}/v1/webhooks/{fake.name}"
    workers = list(build_workers(temporal, db, settings, providers=providers))
    try:
        async with workers[0], workers[1], httpx.AsyncClient(base_url=url, timeout=30) as api:
            yield Stack(fake.name, fake, api, db, temporal, tokens, settings)
    finally:
        server.should_exit = True
        await serving
        sock.close()
        await providers.aclose()


def paid(order: dict[str, Any]) -> bool:
    return order["status"] in ("paid", "fulfilled")


def refund_path(provider: str) -> str:
    return {"paystack": "/refund", "yoco": "/api/checkouts/", "stripe": "/v1/refunds"}[provider]


def init_path(provider: str) -> str:
    return {"paystack": "/transaction/initialize", "yoco": "/api/checkouts", "stripe": "/v1/checkout/sessions"}[
        provider
    ]


# --- scenarios ---------------------------------------------------------------------------------------------------


async def test_duplicate_webhooks_one_set_of_tickets_then_partial_refund(stack: Stack) -> None:
    stack.fake.duplicate_webhooks = 2  # every webhook arrives twice
    order = await stack.buy(3)
    sent = await stack.pay(order)
    order = await stack.wait_paid(order["id"])
    for webhook in sent if isinstance(sent, list) else [sent]:
        await stack.fake.redeliver(webhook)  # and a provider retry, much later
    assert all(d.status == 200 for d in stack.fake.deliveries), stack.fake.deliveries
    order = await stack.order(order["id"])
    assert len(order["tickets"]) == 3 and order["transaction"]["status"] == "succeeded"
    assert order["transaction"]["captured_amount"] == 15500
    await assert_books_balanced(stack.db)

    one = order["tickets"][0]["id"]
    refund = await stack.refund(order["id"], ticket_ids=[one], reason="cannot attend")
    assert refund["amount"] == 5000 and refund["status"] == "requested"
    busy = await stack.api.post(f"/v1/orders/{order['id']}/refunds", json={}, headers=stack.tokens.admin())
    assert (busy.status_code, busy.json()["code"]) == (409, "refund_in_progress")
    await stack.settle(await stack.provider_refund_id(refund["refund_id"]))
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"

    order = await stack.order(order["id"])
    assert order["payment_status"] == "partially_refunded" and paid(order)
    assert order["transaction"]["status"] == "succeeded" and order["transaction"]["refunded_amount"] == 5000
    assert sorted(t["status"] for t in order["tickets"]) == ["active", "active", "refunded"]
    sent_refunds = stack.fake.requests_to("POST", refund_path(stack.provider))
    assert [r for r in sent_refunds if "amount" in r.body.decode()]  # a partial amount was sent
    await assert_refunds_consistent(stack.db)


async def test_refund_failure_is_retried_visibly_until_it_succeeds(stack: Stack) -> None:
    order = await stack.buy(2)
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])

    stack.fake.fail_next(1, 400)  # the provider refuses the first attempt outright
    refund = await stack.refund(order["id"])
    assert refund["amount"] == 10500
    first = await stack.provider_refund_id(refund["refund_id"])
    await stack.settle(first, succeed=False)  # accepted, then failed later (refund.failed webhook)
    second = await stack.provider_refund_id(refund["refund_id"], other_than=first)
    handle = stack.temporal.get_workflow_handle_for(RefundWorkflow.run, f"refund-{refund['refund_id']}")
    progress = await handle.query(QUERY_REFUND_STATUS, result_type=RefundProgress)
    assert progress.provider_failures >= 1 and progress.last_error, progress
    listed = (await stack.api.get(f"/v1/orders/{order['id']}/refunds", headers=stack.tokens.admin())).json()
    assert listed[0]["status"] != "succeeded" and listed[0]["provider_failures"] == 2 and listed[0]["failure_reason"]
    assert (await stack.order(order["id"]))["transaction"]["refunded_amount"] == 0  # never marked done early

    await stack.settle(second)
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"
    order = await stack.order(order["id"])
    assert order["status"] == "refunded" and order["transaction"]["status"] == "refunded"
    assert {t["status"] for t in order["tickets"]} == {"refunded"}
    # Visible in the Temporal UI: an execute_refund attempt that ran after a RefundFailed failure.
    retried = [
        e.activity_task_started_event_attributes
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.last_failure.application_failure_info.type == "RefundFailed"
    ]
    assert retried and retried[0].attempt >= 2
    if stack.provider != "paystack":  # Paystack has no idempotency key: the merchant note carries our refund id
        keys = [r.headers.get("idempotency-key") for r in stack.fake.requests_to("POST", refund_path(stack.provider))]
        rid = refund["refund_id"]
        assert {f"refund-{rid}-1", f"refund-{rid}-2"} <= set(keys), keys
    await assert_books_balanced(stack.db)


async def test_lost_webhooks_and_provider_5xx_are_survived(stack: Stack) -> None:
    stack.fake.drop_webhooks = True
    stack.fake.fail_next(2, 503)  # the payment page is created on the third try
    order = await stack.buy(2)
    assert len(stack.fake.requests_to("POST", init_path(stack.provider))) >= 3
    stack.fake.fail_for(1.5)  # the provider is down for a while after the payment
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])  # found by polling: no webhook ever arrived
    assert len(order["tickets"]) == 2
    await assert_books_balanced(stack.db)

    # Yoco cannot be asked about a refund: its refund webhook is the only confirmation, so let that one through.
    stack.fake.drop_webhooks = stack.provider != "yoco"
    stack.fake.fail_next(1, 500)
    refund = await stack.refund(order["id"])
    await stack.settle(await stack.provider_refund_id(refund["refund_id"]))
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"
    order = await stack.order(order["id"])
    assert order["status"] == "refunded" and order["transaction"]["refunded_amount"] == order["total_amount"]
    async with stack.db.session() as s:
        row = await s.get(Refund, uuid.UUID(refund["refund_id"]))
    assert row is not None and row.provider_failures == 0  # 5xx are retried with the same key, not counted as failures
    await assert_books_balanced(stack.db)


async def test_declined_payment_cancels_and_frees_the_seats(stack: Stack) -> None:
    order = await stack.buy(2)
    reference = order["transaction"]["provider_reference"]
    await stack.fake.decline_payment(reference)
    if stack.provider == "stripe":
        # A declined card leaves the Checkout Session open (the buyer may try another card) until it expires.
        await asyncio.sleep(1.0)
        assert (await stack.order(order["id"]))["status"] == "pending"
        await stack.fake.expire_session(reference)
    order = await stack.wait(order["id"], lambda o: o["status"] == "cancelled")
    expected = "payment_expired" if stack.provider == "stripe" else "payment_declined"
    assert order["cancel_reason"] == expected and order["tickets"] == []
    assert order["transaction"]["status"] == "failed" and order["payment_status"] == "failed"
    refused = await stack.api.post(f"/v1/orders/{order['id']}/refunds", json={}, headers=stack.tokens.admin())
    assert (refused.status_code, refused.json()["code"]) == (409, "order_not_refundable")
    await assert_books_balanced(stack.db)


@pytest.mark.parametrize(("late_grace", "payment_window"), [(30, 3)])
async def test_abandoned_payment_times_out_and_a_late_payment_is_refunded(stack: Stack) -> None:
    order = await stack.buy(1)
    order = await stack.wait(order["id"], lambda o: o["status"] == "cancelled", timeout=20)
    assert order["cancel_reason"] == "payment_timeout" and order["tickets"] == []
    await assert_books_balanced(stack.db)
    if stack.provider == "stripe":  # the checkout closed its Checkout Session: nothing can be paid late
        session = stack.fake.sessions[order["transaction"]["provider_reference"]]
        assert session["status"] == "expired"
        return

    await stack.pay(order)  # the buyer pays on the still-open provider page after we gave up
    deadline = time.monotonic() + 20
    while True:
        async with stack.db.session() as s:
            auto = (await s.execute(select(Refund))).scalars().first()
        if auto is not None and auto.provider_refund_id:
            break
        assert time.monotonic() < deadline, "the late payment was never refunded"
        await asyncio.sleep(0.1)
    assert auto.kind == "automatic" and auto.amount == 5500
    await stack.settle(auto.provider_refund_id)
    order = await stack.wait(order["id"], lambda o: o["transaction"]["status"] == "refunded")
    assert order["status"] == "cancelled" and order["payment_status"] == "refunded" and order["tickets"] == []
    assert order["transaction"]["refunded_amount"] == order["transaction"]["captured_amount"] == 5500
    await assert_books_balanced(stack.db)


async def test_refund_webhook_before_charge_webhook_ends_consistently(stack: Stack) -> None:
    stack.fake.hold_webhooks = True  # nothing is delivered until flushed
    order = await stack.buy(2)
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])  # by polling
    refund = await stack.refund(order["id"])
    await stack.settle(await stack.provider_refund_id(refund["refund_id"]))
    await stack.fake.flush_webhooks(reverse=True)  # refund events first, then the charge's
    assert all(d.status == 200 for d in stack.fake.deliveries), stack.fake.deliveries
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"

    # The charge webhook found its checkout closed: a late-payment run confirmed there is nothing to give back.
    late = stack.temporal.get_workflow_handle(f"late-payment-{order['id']}")
    assert "nothing to refund" in await asyncio.wait_for(late.result(), 30)
    order = await stack.order(order["id"])
    assert order["status"] == "refunded" and order["transaction"]["refunded_amount"] == order["total_amount"]
    async with stack.db.session() as s:
        rows = (await s.execute(select(Refund))).scalars().all()
    assert [r.kind for r in rows] == ["requested"]
    await assert_books_balanced(stack.db)


# --- once-known defects of the checkout, now fixed ---


@pytest.mark.parametrize("fake", ["paystack"], indirect=True)
async def test_paystack_retry_after_a_lost_reply_still_gives_a_payment_page(stack: Stack) -> None:
    from boxoffice.auth import Principal, Role
    from boxoffice.checkout.requests import order_id_for

    # The first initialize reached Paystack but its reply was lost: the reference exists there already.
    order_id = order_id_for(Principal("alice", "org1", Role.BUYER), "lost-reply")
    async with httpx.AsyncClient(base_url=stack.fake.base_url) as client:
        r = await client.post(
            "/transaction/initialize",
            headers={"Authorization": f"Bearer {stack.fake.secret_key}"},
            json={"email": "alice@example.com", "amount": 10500, "currency": "ZAR", "reference": f"bo-{order_id}"},
        )
        assert r.status_code == 200, r.text
    event = await make_event(stack.api, stack.tokens.admin(), service_fee_fixed_cents=300)
    tt = await make_ticket_type(stack.api, stack.tokens.admin(), event["id"], base_price_cents=5000)
    h = await stack.api.post(
        "/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 2}, headers=stack.tokens.buyer()
    )
    body = {
        "hold_ids": [h.json()["id"]],
        "provider": "paystack",
        "buyer": {"email": "alice@example.com", "name": "Alice"},
        "tip_cents": 200,
    }
    headers = {**stack.tokens.buyer(), "Idempotency-Key": "lost-reply"}
    r = await stack.api.post("/v1/checkouts", json=body, headers=headers)
    # Paystack cannot hand back the single-use page of the first attempt: the checkout fails fast and says so,
    # instead of waiting out its window on a page nobody can open; the seats go back at once.
    assert r.status_code == 502 and r.json()["code"] == "payment_page_unavailable", r.text
    order = await stack.wait(order_id, lambda o: o["status"] == "cancelled", timeout=20)
    assert order["status"] == "cancelled"
    assert (await stack.api.get(f"/v1/holds/{h.json()['id']}", headers=stack.tokens.buyer())).json()[
        "status"
    ] == "released"
    await assert_books_balanced(stack.db)


@pytest.mark.parametrize(("fake", "payment_window"), [("stripe", 3)], indirect=["fake"])
async def test_stripe_session_is_expired_when_the_checkout_gives_up(stack: Stack) -> None:
    order = await stack.buy(1)
    await stack.wait(order["id"], lambda o: o["status"] == "cancelled", timeout=20)
    await asyncio.sleep(1)
    session = stack.fake.sessions[order["transaction"]["provider_reference"]]
    assert session["status"] == "expired", "the buyer can still pay a cancelled order"
