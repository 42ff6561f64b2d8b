"""Every way a checkout can end, each asserting the final books: holds, inventory, order, transaction,
tickets, attendees and ledger."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from boxoffice.checkout.contract import CheckoutResult, CompleteOrderInput, CompleteOrderResult
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Refund, SandboxPayment, WebhookEvent
from boxoffice.payments.sandbox import SIGNATURE_HEADER, sign
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, settled, setup_sale, wait_order
from tests.conftest import Tokens
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


async def test_lost_webhook_is_found_by_polling(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    await press(api, body["payment_url"], "pay", webhook="drop")
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled" and len(order["tickets"]) == 2
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 0
    await assert_books_balanced(db)


async def test_duplicate_webhook_issues_one_set_of_tickets(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 3)])).json()
    await press(api, body["payment_url"], "pay", webhook="duplicate")
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert len(order["tickets"]) == 3
    async with db.session() as s:
        rows = (await s.execute(select(WebhookEvent))).scalars().all()
    assert len(rows) == 1 and rows[0].status == "delivered"
    await assert_books_balanced(db)


def signed(settings: Settings, doc: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(doc).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: sign(settings.sandbox_webhook_secret, body)}


async def test_out_of_order_webhooks_end_consistently(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    ref = "bo-" + body["order_id"]
    # A stale "declined" arrives first while the provider actually took the money: the workflow confirms with
    # the provider and sells; the success event comes late and changes nothing.
    async with db.transaction() as s:
        await s.execute(update(SandboxPayment).where(SandboxPayment.reference == ref).values(status="succeeded"))
    declined = {"id": "evt-old", "type": "payment.declined", "data": {"reference": ref}}
    r = await api.post(
        "/v1/webhooks/sandbox", content=signed(settings, declined)[0], headers=signed(settings, declined)[1]
    )
    assert r.status_code == 200
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled"
    succeeded = {"id": "evt-new", "type": "payment.succeeded", "data": {"reference": ref}}
    raw, headers = signed(settings, succeeded)
    assert (await api.post("/v1/webhooks/sandbox", content=raw, headers=headers)).status_code == 200
    assert (await api.post("/v1/webhooks/sandbox", content=raw, headers=headers)).json() == {"status": "duplicate"}
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: False, timeout=1)
    assert order["status"] == "fulfilled" and len(order["tickets"]) == 1
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Refund))).scalar_one() == 0
    await assert_books_balanced(db)


async def test_forged_webhook_is_401_and_changes_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    doc = {"id": "evt-forged", "type": "payment.succeeded", "data": {"reference": "bo-" + body["order_id"]}}
    raw = json.dumps(doc).encode()
    for headers in (
        {},
        {SIGNATURE_HEADER: sign("wrong-secret", raw)},
        {SIGNATURE_HEADER: sign(settings.sandbox_webhook_secret, raw, timestamp=1_600_000_000)},
        {SIGNATURE_HEADER: sign(settings.sandbox_webhook_secret, raw + b" ")},
    ):
        r = await api.post("/v1/webhooks/sandbox", content=raw, headers={"content-type": "application/json", **headers})
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 0
    r = await api.post("/v1/webhooks/nonsuch", content=raw)
    assert r.status_code == 404 and r.json()["code"] == "unknown_provider"
    order = (await api.get(f"/v1/orders/{body['order_id']}", headers=tokens.buyer())).json()
    assert order["status"] == "pending"


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
        assert (await s.get(SandboxPayment, ref)).refunded_amount == 100  # type: ignore[union-attr]
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


async def test_free_order_skips_payment(api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any) -> None:
    event, tt = await setup_sale(api, tokens, pricing_model="free", base_price_cents=0)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["payment_url"] is None and body["total_amount"] == 0 and body["status"] == "paid"
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert len(order["tickets"]) == 2 and order["transaction"] is None
    assert order["payment_status"] == "not_required"
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["sold"] == 2
    await assert_books_balanced(db)


async def test_pay_what_you_want_fee_and_tip(api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any) -> None:
    from tests.helpers import make_event, make_ticket_type

    admin = tokens.admin()
    event = await make_event(api, admin, service_fee_bps=250, service_fee_fixed_cents=300)
    tt = await make_ticket_type(
        api,
        admin,
        event["id"],
        pricing_model="pay_what_you_want",
        base_price_cents=0,
        minimum_price_cents=1000,
        suggested_price_cents=2500,
    )
    h1 = await hold(api, tokens, tt["id"], 2)
    r = await checkout(api, tokens, [h1], unit_prices_cents={h1: 999})
    assert r.status_code == 422 and r.json()["code"] == "price_below_minimum"
    r = await checkout(api, tokens, [h1], unit_prices_cents={h1: 1333}, tip_cents=500)
    assert r.status_code == 201, r.text
    # 2 × 1333 = 2666; fee = round(2666 × 2.5 %) + 300 = 67 + 300; tip 500.
    assert r.json()["total_amount"] == 2666 + 367 + 500
    await press(api, r.json()["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), r.json()["order_id"], lambda o: o["status"] == "fulfilled")
    assert (order["subtotal_cents"], order["fee_cents"], order["tip_cents"]) == (2666, 367, 500)
    await assert_books_balanced(db)
    # With no price given, the suggested price applies.
    h2 = await hold(api, tokens, tt["id"], 1, user="bob")
    r = await checkout(api, tokens, [h2], user="bob")
    assert r.json()["total_amount"] == 2500 + 63 + 300


async def test_idempotency_key(api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any) -> None:
    _event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 2)
    first = await checkout(api, tokens, [h], key="k-1")
    again = await checkout(api, tokens, [h], key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await checkout(api, tokens, [h], key="k-1", tip_cents=100)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    orders = (await api.get("/v1/orders", headers=tokens.buyer())).json()
    assert [o["id"] for o in orders] == [first.json()["order_id"]]
    # The same key from another buyer is another checkout (keys are per buyer).
    h2 = await hold(api, tokens, tt["id"], 1, user="bob")
    assert (await checkout(api, tokens, [h2], user="bob", key="k-1")).json()["order_id"] != first.json()["order_id"]
    await assert_books_balanced(db)


async def test_bad_checkouts_are_refused_and_change_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    from boxoffice.models import Hold

    event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 2)
    stale = await hold(api, tokens, tt["id"], 1)
    async with db.transaction() as s:  # as if the sweeper had not run yet
        await s.execute(
            update(Hold).where(Hold.id == uuid.UUID(stale)).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    cases = [
        ([str(uuid.uuid4())], {}, 404, "hold_not_found"),
        ([stale], {}, 409, "hold_expired"),
        ([h], {"provider": "bitcoin"}, 422, "validation_error"),
        ([h], {"buyer": {"email": "nope", "name": "x"}}, 422, "validation_error"),
        ([h], {"unit_prices_cents": {h: 5}}, 422, "price_not_adjustable"),
        ([], {}, 422, "validation_error"),
    ]
    for ids, extra, status, code in cases:
        r = await checkout(api, tokens, ids, **extra)
        assert r.status_code == status and r.json()["code"] == code, (ids, extra, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = await checkout(api, tokens, [h], user="mallory")
    assert r.status_code == 404 and r.json()["code"] == "hold_not_found"
    r = await api.post(
        "/v1/checkouts",
        json={"hold_ids": [h], "provider": "sandbox", "buyer": {"email": "a@b.co", "name": "A"}},
        headers=tokens.admin(),
    )
    assert r.status_code == 403
    assert (await api.get("/v1/orders", headers=tokens.admin())).json() == []
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["order_id"] is None
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["held"] == 3
    await assert_books_balanced(db)


async def test_order_events_stream(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    _event, tt = await setup_sale(api, tokens)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    await press(api, body["payment_url"], "pay")
    r = await api.get(f"/v1/orders/{body['order_id']}/events", headers=tokens.buyer())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
    states = [(e["status"], e["payment_status"], e["fulfillment_status"]) for e in events]
    assert states[-1] == ("fulfilled", "paid", "delivered")
    assert all(a != b for a, b in itertools.pairwise(states))  # one event per change, none repeated
    assert (await api.get(f"/v1/orders/{body['order_id']}/events", headers=tokens.buyer("eve"))).status_code == 404


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


async def test_sandbox_is_off_in_production(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    """Pretend money must never buy real tickets: in production the sandbox is refused unless enabled."""
    _event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 1)
    settings.env = "production"
    r = await checkout(api, tokens, [h])
    assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
    assert "BOXOFFICE_SANDBOX_ENABLED" in r.json()["detail"]
    assert (await api.get("/sandbox/pay/bo-anything")).status_code == 404
    assert (await api.get("/v1/orders", headers=tokens.buyer())).json() == []
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["order_id"] is None
    settings.sandbox_enabled = True  # an operator may turn it on deliberately (a staging stack)
    assert (await checkout(api, tokens, [h])).status_code == 201
