"""The sale: held seats become paid tickets through the sandbox provider, end to end: a paid checkout, a declined
one, a free order, pay-what-you-want with a fee and a tip, and the order's event stream."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
from temporalio.client import Client

from boxoffice.db import Database
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, settled, setup_sale, wait_order
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type


async def test_paid_checkout_issues_tickets(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, temporal: Client
) -> None:
    event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    h = await hold(api, tokens, tt["id"], 2)
    r = await checkout(
        api,
        tokens,
        [h],
        attendees=[{"name": "Ann", "email": "ann@example.com"}, {"name": "Bob", "email": "bob@example.com"}],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending" and body["total_amount"] == 10000 and body["currency"] == "ZAR"
    assert body["payment_url"].startswith("http://testserver/sandbox/pay/bo-")
    assert body["workflow_id"] == f"checkout-{body['order_id']}"

    r = await press(api, body["payment_url"], "pay")
    assert r.status_code == 303
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    assert order["payment_status"] == "paid" and order["fulfillment_status"] == "delivered"
    assert len(order["tickets"]) == 2
    assert sorted(t["attendee_name"] for t in order["tickets"]) == ["Ann", "Bob"]
    assert all(len(t["ticket_code"]) == 19 and t["status"] == "active" for t in order["tickets"])
    assert order["transaction"]["status"] == "succeeded"
    row = (await availability(api, tokens.admin(), event["id"]))[tt["id"]]
    assert (row["held"], row["sold"], row["available"]) == (0, 2, 8)
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["status"] == "converted"
    await assert_books_balanced(db)

    # The run is readable by operators: search attributes and named activities.
    handle = temporal.get_workflow_handle(body["workflow_id"])
    desc = await handle.describe()
    assert desc.typed_search_attributes is not None
    names = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    markers = [e for e in (await handle.fetch_history()).events if e.HasField("marker_recorded_event_attributes")]
    assert markers  # local activities are recorded as markers in the history
    assert names == set()  # the happy path runs only local activities
    pdf = await api.get(f"/v1/orders/{body['order_id']}/tickets.pdf", headers=tokens.buyer())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_declined_payment_cancels_and_releases(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 3)
    body = (await checkout(api, tokens, [h])).json()
    await press(api, body["payment_url"], "decline")
    order = await wait_order(api, tokens.buyer(), body["order_id"], settled)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "payment_declined"
    assert order["payment_status"] == "failed" and order["transaction"]["status"] == "failed"
    assert order["tickets"] == []
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["available"] == 10
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["status"] == "released"
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
