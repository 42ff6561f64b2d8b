"""Organiser refunds through the sandbox provider: the request rules, full and partial refunds, and the books."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlmodel import col
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.models import LedgerEntry, Refund, Transaction
from boxoffice.refunds.contract import RefundProgress
from boxoffice.refunds.workflow import RefundWorkflow
from tests.books import assert_books_balanced, assert_refunds_consistent
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type


async def paid_order(api: httpx.AsyncClient, tokens: Tokens, qty: int = 3, user: str = "alice") -> dict[str, Any]:
    """A fulfilled sandbox order of ``qty`` tickets at 5000, with a 300 service fee and a 200 tip."""
    event = await make_event(api, tokens.admin(), service_fee_fixed_cents=300)
    tt = await make_ticket_type(api, tokens.admin(), event["id"], capacity=10, base_price_cents=5000)
    held = await hold(api, tokens, tt["id"], qty, user=user)
    body = (await checkout(api, tokens, [held], user=user, tip_cents=200)).json()
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.admin(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled" and order["total_amount"] == qty * 5000 + 500, order
    return {**order, "event": event, "ticket_type": tt}


async def refund(
    api: httpx.AsyncClient, tokens: Tokens, order_id: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await api.post(f"/v1/orders/{order_id}/refunds", json=body, headers=headers or tokens.admin())


async def settled(temporal: Client, refund_id: str) -> RefundProgress:
    """Wait for the refund's workflow to finish; it finishes only once the provider confirmed the refund."""
    return await asyncio.wait_for(
        temporal.get_workflow_handle_for(RefundWorkflow.run, f"refund-{refund_id}").result(), 60
    )


async def test_full_refund_returns_everything(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    order = await paid_order(api, tokens)
    r = await refund(api, tokens, order["id"], reason="event moved")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "requested" and body["amount"] == 15500 and body["currency"] == "ZAR"
    assert body["workflow_id"] == f"refund-{body['refund_id']}"
    assert (await settled(temporal, body["refund_id"])).state == "succeeded"

    after = (await api.get(f"/v1/orders/{order['id']}", headers=tokens.admin())).json()
    assert after["status"] == "refunded" and after["payment_status"] == "refunded"
    assert {t["status"] for t in after["tickets"]} == {"refunded"}
    assert after["transaction"]["status"] == "refunded" and after["transaction"]["refunded_amount"] == 15500
    row = (await availability(api, tokens.admin(), order["event"]["id"]))[order["ticket_type"]["id"]]
    assert (row["sold"], row["available"]) == (0, 10)
    async with db.session() as s:
        entries = (
            (await s.execute(select(LedgerEntry).where(col(LedgerEntry.journal_key) == f"refund:{body['refund_id']}")))
            .scalars()
            .all()
        )
    assert {e.account: e.amount for e in entries} == {
        "organizer_payable": 15000,
        "platform_fee_revenue": 300,
        "tips_payable": 200,
        "provider_clearing:sandbox": -15500,
    }
    listed = (await api.get(f"/v1/orders/{order['id']}/refunds", headers=tokens.admin())).json()
    assert [(x["refund_id"], x["status"]) for x in listed] == [(body["refund_id"], "succeeded")]
    await assert_books_balanced(db)
    # Nothing is left: another refund is refused and changes nothing.
    again = await refund(api, tokens, order["id"])
    assert again.status_code == 409 and again.json()["code"] == "order_not_refundable"


async def test_partial_refund_then_the_rest(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    order = await paid_order(api, tokens)
    first, *rest = [t["id"] for t in order["tickets"]]
    r = await refund(api, tokens, order["id"], ticket_ids=[first])
    assert r.status_code == 202 and r.json()["amount"] == 5000, r.text
    await settled(temporal, r.json()["refund_id"])
    after = (await api.get(f"/v1/orders/{order['id']}", headers=tokens.admin())).json()
    assert after["status"] == "fulfilled" and after["payment_status"] == "partially_refunded"
    assert after["transaction"]["status"] == "succeeded" and after["transaction"]["refunded_amount"] == 5000
    assert {t["id"]: t["status"] for t in after["tickets"]} == {first: "refunded", **dict.fromkeys(rest, "active")}
    assert (await availability(api, tokens.admin(), order["event"]["id"]))[order["ticket_type"]["id"]]["sold"] == 2
    await assert_refunds_consistent(db)

    again = await refund(api, tokens, order["id"], ticket_ids=[first])
    assert again.status_code == 409 and again.json()["code"] == "ticket_already_refunded"

    # The rest, named explicitly: it covers every remaining ticket, so the fee and the tip go back too.
    r = await refund(api, tokens, order["id"], ticket_ids=rest)
    assert r.status_code == 202 and r.json()["amount"] == 10500, r.text
    await settled(temporal, r.json()["refund_id"])
    after = (await api.get(f"/v1/orders/{order['id']}", headers=tokens.admin())).json()
    assert after["status"] == "refunded" and after["transaction"]["refunded_amount"] == after["total_amount"]
    assert after["transaction"]["status"] == "refunded"
    await assert_refunds_consistent(db)
    await assert_books_balanced(db)


async def test_bad_refund_requests_change_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    order = await paid_order(api, tokens, qty=2)
    other = await paid_order(api, tokens, qty=1, user="bob")
    oid = order["id"]
    cases = [
        (tokens.buyer(), {}, 403, "wrong_role"),
        (tokens.admin(org="org2"), {}, 404, "order_not_found"),
        (None, {"ticket_ids": [other["tickets"][0]["id"]]}, 422, "ticket_not_in_order"),
        (None, {"ticket_ids": ["not-a-uuid"]}, 422, "validation_error"),
        (None, {"ticket_ids": [order["tickets"][0]["id"]] * 2}, 422, "validation_error"),
        (None, {"ticket_ids": []}, 422, "validation_error"),
    ]
    for headers, body, status, code in cases:
        r = await refund(api, tokens, oid, headers=headers, **body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    missing = await api.post("/v1/orders/00000000-0000-0000-0000-000000000000/refunds", json={}, headers=tokens.admin())
    assert missing.status_code == 404

    # Money refunded outside Boxoffice (say, in the provider's dashboard) leaves less than a ticket costs.
    async with db.transaction() as s:
        await s.execute(update(Transaction).values(refunded_amount=Transaction.amount - 1000))
    r = await refund(api, tokens, oid, ticket_ids=[order["tickets"][0]["id"]])
    assert (r.status_code, r.json()["code"]) == (422, "refund_exceeds_payment"), r.text
    assert r.json()["refundable"] == 1000
    async with db.transaction() as s:
        await s.execute(update(Transaction).values(refunded_amount=0))

    async with db.session() as s:
        assert (await s.execute(select(Refund))).scalars().all() == []
    after = (await api.get(f"/v1/orders/{oid}", headers=tokens.admin())).json()
    assert after["status"] == "fulfilled" and {t["status"] for t in after["tickets"]} == {"active"}
    await assert_books_balanced(db)


async def test_pending_order_cannot_be_refunded_and_keys_are_idempotent(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    event = await make_event(api, tokens.admin())
    tt = await make_ticket_type(api, tokens.admin(), event["id"], capacity=10, base_price_cents=5000)
    pending = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    r = await refund(api, tokens, pending["order_id"])
    assert (r.status_code, r.json()["code"]) == (409, "order_not_refundable")
    free_tt = await make_ticket_type(
        api, tokens.admin(), event["id"], name="Free", pricing_model="free", base_price_cents=0
    )
    free = (await checkout(api, tokens, [await hold(api, tokens, free_tt["id"], 1)])).json()
    await wait_order(api, tokens.admin(), free["order_id"], lambda o: o["status"] in ("paid", "fulfilled"))
    r = await refund(api, tokens, free["order_id"])
    assert (r.status_code, r.json()["code"]) == (409, "nothing_to_refund")

    order = await paid_order(api, tokens, qty=1, user="carol")
    key = {**tokens.admin(), "Idempotency-Key": "refund-once"}
    first = await refund(api, tokens, order["id"], headers=key)
    second = await refund(api, tokens, order["id"], headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["refund_id"] == second.json()["refund_id"]
    await settled(temporal, first.json()["refund_id"])
    async with db.session() as s:
        assert len((await s.execute(select(Refund))).scalars().all()) == 1
    await assert_books_balanced(db)
