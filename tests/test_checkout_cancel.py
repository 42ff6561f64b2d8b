"""Checkouts that end cancelled (by the buyer, an operator, the payment window, a wrong amount or a failure after
capture, or paid after the cancel): the seats and any money go back, and the final books are asserted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from boxoffice.checkout.contract import CheckoutResult, CompleteOrderInput, CompleteOrderResult
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import SandboxPayment
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, settled, setup_sale, wait_order
from tests.harness import Tokens
from tests.helpers import availability


async def test_buyer_cancel_releases_everything(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 2)
    body = (await checkout(api, tokens, [h])).json()
    # Another buyer cannot cancel it.
    r = await api.post(f"/v1/orders/{body['order_id']}/cancel", headers=tokens.buyer("mallory"))
    assert r.status_code == 404
    r = await api.post(f"/v1/orders/{body['order_id']}/cancel", headers=tokens.buyer())
    assert r.status_code == 200, r.text
    order = r.json()
    assert order["status"] == "cancelled" and order["cancel_reason"] == "buyer_cancelled"
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    # The hosted page no longer takes money for it… and a second cancel is refused.
    r = await api.post(f"/v1/orders/{body['order_id']}/cancel", headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "order_not_cancellable"
    await assert_books_balanced(db)


async def test_cancel_after_payment_is_refused(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    await press(api, body["payment_url"], "pay")
    await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    r = await api.post(f"/v1/orders/{body['order_id']}/cancel", headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "order_not_cancellable"
    await assert_books_balanced(db)


async def test_payment_timeout_cancels_never_beyond_the_holds(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    settings.hold_ttl_seconds = 3  # the holds expire long before the 120 s payment window would
    event, tt = await setup_sale(api, tokens)
    hold_id = await hold(api, tokens, tt["id"], 2)
    hold_expires = (await api.get(f"/v1/holds/{hold_id}", headers=tokens.buyer())).json()["expires_at"]
    body = (await checkout(api, tokens, [hold_id])).json()
    assert body["expires_at"] == hold_expires
    order = await wait_order(api, tokens.buyer(), body["order_id"], settled, timeout=20)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "payment_timeout"
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    await assert_books_balanced(db)


async def test_operator_cancel_unwinds(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    """An operator cancelling the run in the Temporal UI gets seats back and the order cancelled."""
    from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

    event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    handle = temporal.get_workflow_handle(body["workflow_id"])
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    order = (await api.get(f"/v1/orders/{body['order_id']}", headers=tokens.buyer())).json()
    assert order["status"] == "cancelled" and order["cancel_reason"] == "operator_cancelled"
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    await assert_books_balanced(db)


@pytest.mark.parametrize("grace", [30, 0], ids=["within-grace", "after-close"])
async def test_late_payment_after_cancel_is_refunded(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any, grace: int
) -> None:
    settings.late_payment_grace_seconds = grace
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    r = await api.post(f"/v1/orders/{body['order_id']}/cancel", headers=tokens.buyer())
    assert r.status_code == 200
    await press(api, body["payment_url"], "pay")  # the buyer's old tab still had the payment page open
    order = await wait_order(
        api, tokens.buyer(), body["order_id"], lambda o: o["payment_status"] == "refunded", timeout=30
    )
    assert order["status"] == "cancelled" and order["payment_status"] == "refunded"
    assert order["transaction"]["status"] == "refunded" and order["tickets"] == []
    await assert_books_balanced(db)


async def test_amount_mismatch_is_refunded(api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any) -> None:
    event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    ref = "bo-" + body["order_id"]
    async with db.transaction() as s:  # the provider captures less than the order's total
        await s.execute(update(SandboxPayment).where(SandboxPayment.reference == ref).values(amount=100))
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), body["order_id"], settled)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "amount_mismatch"
    assert order["payment_status"] == "refunded" and order["tickets"] == []
    assert order["transaction"]["status"] == "refunded" and order["transaction"]["refunded_amount"] == 100
    async with db.session() as s:
        payment = await s.get(SandboxPayment, ref)
        assert payment is not None and payment.refunded_amount == 100
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    await assert_books_balanced(db)


@activity.defn(name="complete_order")
async def complete_order_fails(inp: CompleteOrderInput) -> CompleteOrderResult:
    raise ApplicationError("the ticket printer caught fire", type="IssuingFailed", non_retryable=True)


@pytest.mark.parametrize("activity_overrides", [{"complete_order": complete_order_fails}])
async def test_issuing_failure_after_capture_is_refunded(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), body["order_id"], settled)
    assert order["status"] == "cancelled" and order["payment_status"] == "refunded"
    assert order["transaction"]["refunded_amount"] == order["total_amount"]
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    handle = temporal.get_workflow_handle(body["workflow_id"], result_type=CheckoutResult)
    result = await handle.result()
    assert result.status == "cancelled" and result.refunded
    await assert_books_balanced(db)
