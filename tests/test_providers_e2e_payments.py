"""End to end through each provider's fake (Paystack, Yoco, Stripe): how the money arrives, or does not. The API is
served over real HTTP, the fakes post signed webhooks to it, the real worker and activities run, and the books are
checked after every scenario (the stack is ``tests/e2e_stack.py``).

Each scenario runs once per provider. The buyer "pays" through the fake's control API (``complete_payment``…), with the
provider reference the order shows (Paystack: our ``bo-…`` reference; Yoco: the checkout id; Stripe: the session id).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from boxoffice.models import Refund
from tests.books import assert_books_balanced
from tests.e2e_stack import Stack, init_path
from tests.helpers import make_event, make_ticket_type


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
