"""A small sold event for the invariant checker's tests: two events, orders paid, declined and refunded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


@dataclass
class Sale:
    """A sold event's ids: a fulfilled order of 3 with one ticket refunded, a declined order, an active hold, and
    a second event with nothing sold."""

    event: uuid.UUID
    other_event: uuid.UUID
    ticket_type: uuid.UUID
    paid: uuid.UUID
    paid_txn: uuid.UUID
    live: list[uuid.UUID]
    refunded_ticket: uuid.UUID
    refund: uuid.UUID
    declined: uuid.UUID
    declined_txn: uuid.UUID


async def sell(api: httpx.AsyncClient, tokens: Tokens) -> Sale:
    """Sell through the API as buyers and an organiser would, until everything has settled."""
    admin = tokens.admin()
    event = await make_event(api, admin, service_fee_fixed_cents=300)
    other = await make_event(api, admin, name="Matinee")
    await make_ticket_type(api, admin, other["id"], capacity=5)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, base_price_cents=5000)
    paid = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 3)], tip_cents=200)).json()
    await press(api, paid["payment_url"], "pay")
    order = await wait_order(api, admin, paid["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    refunded = order["tickets"][0]["id"]
    r = await api.post(f"/v1/orders/{order['id']}/refunds", json={"ticket_ids": [refunded]}, headers=admin)
    assert r.status_code == 202, r.text
    order = await wait_order(api, admin, order["id"], lambda o: o["transaction"]["refunded_amount"] > 0)
    assert order["payment_status"] == "partially_refunded", order
    declined = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1, user="bob")], user="bob")).json()
    await press(api, declined["payment_url"], "decline")
    gone = await wait_order(api, admin, declined["order_id"], lambda o: o["status"] == "cancelled")
    assert gone["status"] == "cancelled", gone
    await hold(api, tokens, tt["id"], 1, user="carol")
    txn_of = {t["order_id"]: uuid.UUID(t["id"]) for t in (await api.get("/v1/transactions", headers=admin)).json()}
    return Sale(
        event=uuid.UUID(event["id"]),
        other_event=uuid.UUID(other["id"]),
        ticket_type=uuid.UUID(tt["id"]),
        paid=uuid.UUID(order["id"]),
        paid_txn=txn_of[order["id"]],
        live=[uuid.UUID(t["id"]) for t in order["tickets"] if t["status"] == "active"],
        refunded_ticket=uuid.UUID(refunded),
        refund=uuid.UUID(r.json()["refund_id"]),
        declined=uuid.UUID(gone["id"]),
        declined_txn=txn_of[gone["id"]],
    )
