"""The sale: held seats become paid tickets through the sandbox provider, end to end."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client

from boxoffice.db import Database
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, settled, setup_sale, wait_order
from tests.conftest import Tokens
from tests.helpers import availability


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
