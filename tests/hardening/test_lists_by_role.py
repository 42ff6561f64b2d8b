"""Roles decide what a list contains, not user ids: a scanner token whose user id equals a buyer's lists nothing
of that buyer's orders or tickets (and reads none of them).

Before the restructure (682bc61^, ``api/routes/tickets.py`` and ``services/orders.py``) the lists filtered by
organisation and, for anyone but an org_admin, by ``user_id == token sub``: the scanner "alice" got alice's
orders and tickets, ``qr_payload`` included, so this test failed there. ``access.visible_to`` fixed it.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.checkout_helpers import checkout, hold, wait_order
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


async def test_a_scanner_with_a_buyers_user_id_sees_none_of_their_orders_or_tickets(
    api: httpx.AsyncClient, tokens: Tokens, worker: Any
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], pricing_model="free", base_price_cents=0, capacity=10)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    order = await wait_order(api, tokens.buyer(), order_id, lambda o: len(o["tickets"]) == 2)
    tickets = (await api.get("/v1/tickets", headers=tokens.buyer())).json()
    assert len(tickets) == 2 and all(t["qr_payload"] for t in tickets)  # the buyer sees their own
    secrets = [order_id] + [t["id"] for t in tickets] + [t["ticket_code"] for t in tickets]
    secrets += [t["qr_payload"] for t in tickets]

    scanner = tokens.scanner(user="alice")  # same organisation, same user id as the buyer, another role
    for path in ("/v1/orders", "/v1/tickets", "/v1/orders?status=paid", "/v1/orders?status=fulfilled"):
        r = await api.get(path, headers=scanner)
        assert r.status_code == 200 and r.json() == [], (path, r.text)
    for path in (f"/v1/orders/{order_id}", f"/v1/tickets/{tickets[0]['id']}", f"/v1/tickets/{tickets[0]['id']}/qr.svg"):
        r = await api.get(path, headers=scanner)
        assert r.status_code == 404, (path, r.text)
        assert not any(s in r.text for s in secrets), path
    # The same user id as a buyer of another organisation sees nothing either.
    for path in ("/v1/orders", "/v1/tickets"):
        assert (await api.get(path, headers=tokens.buyer("alice", org="org2"))).json() == []
    # … and the organisation's admin sees it all (the lists are not simply empty for everyone).
    assert [o["id"] for o in (await api.get("/v1/orders", headers=admin)).json()] == [order["id"]]
    assert len((await api.get("/v1/tickets", headers=admin)).json()) == 2
