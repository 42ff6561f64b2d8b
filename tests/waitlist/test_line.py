"""Joining and leaving a waiting list through the API, and seats coming back by every path (a hold released or
expired, a ticket voided or refunded) kept for the list in the statement that returns them: ordinary holds cannot
take them, and the checker finds the counters adding up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from boxoffice.db import Database
from boxoffice.inventory.holds import expire_due_holds
from boxoffice.models import Hold
from boxoffice.models.types import utcnow
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type
from tests.waitlist.helpers import counters, join, sold_out, violations, wait_entry


async def test_joining_is_for_those_who_cannot_have_seats_now(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = (await make_ticket_type(api, admin, event["id"], capacity=3, max_per_order=2))["id"]
    url = f"/v1/ticket-types/{tt}/waitlist"
    refused = await api.post(url, json={"quantity": 1}, headers=tokens.buyer("b1"))
    assert (refused.status_code, refused.json()["code"], refused.json()["available"]) == (409, "seats_available", 3)
    await hold(api, tokens, tt, 2, user="holder")
    small = (await make_ticket_type(api, admin, event["id"], name="Box", capacity=1))["id"]
    await hold(api, tokens, small, 1, user="holder")

    # One seat is on sale and b1 wants two: she joins, and the free seat is kept for the line at once.
    joined = await join(api, tokens, tt, "b1", quantity=2)
    assert (joined["status"], joined["place"], joined["quantity"], joined["offer"]) == ("waiting", 1, 2, None)
    assert (await availability(api, admin, event["id"]))[tt]["available"] == 0
    assert (await counters(db, tt))["waitlist_reserved"] == 1
    r = await api.post("/v1/holds", json={"ticket_type_id": tt, "quantity": 1}, headers=tokens.buyer("walk-in"))
    assert (r.status_code, r.json()["code"]) == (409, "sold_out")

    cases: list[tuple[dict[str, str], str, Any, int, str]] = [
        (tokens.buyer("b1"), url, {"quantity": 1}, 409, "already_waiting"),
        (tokens.buyer("b2"), url, {"quantity": 3}, 422, "max_per_order_exceeded"),
        (tokens.buyer("b2"), f"/v1/ticket-types/{small}/waitlist", {"quantity": 2}, 422, "quantity_exceeds_capacity"),
        (tokens.buyer("b2"), url, {"quantity": 0}, 422, "validation_error"),
        (tokens.buyer("b2", org="org2"), url, {"quantity": 1}, 404, "ticket_type_not_found"),
        (tokens.admin(), url, {"quantity": 1}, 403, "wrong_role"),
        (
            tokens.buyer("b2"),
            f"/v1/ticket-types/{uuid.uuid4()}/waitlist",
            {"quantity": 1},
            404,
            "ticket_type_not_found",
        ),
    ]
    for headers, path, body, status, code in cases:
        r = await api.post(path, json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), (path, body, r.text)
    assert (await counters(db, tt))["waitlist_waiting"] == 2

    second = await join(api, tokens, tt, "b2")
    assert second["place"] == 2
    mine = (await api.get("/v1/waitlist", headers=tokens.buyer("b2"))).json()
    assert [e["id"] for e in mine] == [second["id"]]
    assert (await api.get(f"/v1/waitlist/{second['id']}", headers=tokens.buyer("b1"))).status_code == 404

    # Leaving: b1's place goes to b2, and the seat kept for b1 stays kept for b2 (who wants one).
    left = await api.delete(f"/v1/waitlist/{joined['id']}", headers=tokens.buyer("b1"))
    assert (left.status_code, left.json()["status"], left.json()["place"]) == (200, "left", None)
    assert (await api.get(f"/v1/waitlist/{second['id']}", headers=tokens.buyer("b2"))).json()["place"] == 1
    assert (await counters(db, tt))["waitlist_waiting"] == 1
    again = await api.delete(f"/v1/waitlist/{joined['id']}", headers=tokens.buyer("b1"))
    assert (again.status_code, again.json()["status"]) == (200, "left")
    mine = (await api.get("/v1/waitlist?include_ended=true", headers=tokens.buyer("b1"))).json()
    assert [e["status"] for e in mine] == ["left"]
    assert await violations(db) == []


async def test_seats_back_from_every_path_are_kept_for_the_line_first(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    sale = await sold_out(api, tokens, capacity=6)
    r = await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer("holder"))
    assert r.status_code == 200
    # Four paid seats (voided or refunded later) and two held ones (released or expired later).
    body = (await checkout(api, tokens, [await hold(api, tokens, sale.tt, 4, user="payer")], user="payer")).json()
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer("payer"), body["order_id"], lambda o: o["status"] == "fulfilled")
    released, expiring = await hold(api, tokens, sale.tt, 1, user="h1"), await hold(api, tokens, sale.tt, 1, user="h2")
    assert (await counters(db, sale.tt))["waitlist_reserved"] == 0
    entries = [await join(api, tokens, sale.tt, f"w{i}") for i in range(1, 6)]  # five want a seat each

    async def back_by(action: Any) -> None:
        before = await counters(db, sale.tt)
        await action()
        after = await counters(db, sale.tt)
        # The seat went to the line: kept for it, or already offered to the next in line (an offer is a hold);
        # nothing went on sale.
        assert after["held"] + after["sold"] + after["waitlist_reserved"] == after["capacity"], (before, after)
        r = await api.post("/v1/holds", json={"ticket_type_id": sale.tt, "quantity": 1}, headers=tokens.buyer("x"))
        assert (r.status_code, r.json()["code"]) == (409, "sold_out")

    await back_by(lambda: api.delete(f"/v1/holds/{released}", headers=tokens.buyer("h1")))

    async def expire() -> None:
        async with db.transaction() as s:
            await s.execute(update(Hold).where(col(Hold.id) == uuid.UUID(expiring)).values(expires_at=utcnow()))
        async with db.transaction() as s:
            assert await expire_due_holds(s, now=utcnow() + timedelta(seconds=1)) == 1

    await back_by(expire)
    t1, t2 = order["tickets"][:2]
    await back_by(lambda: api.post(f"/v1/tickets/{t1['id']}/void", json={"reason": "x"}, headers=tokens.admin()))

    async def refund() -> None:
        r = await api.post(f"/v1/orders/{order['id']}/refunds", json={"ticket_ids": [t2["id"]]}, headers=tokens.admin())
        assert r.status_code == 202, r.text
        for _ in range(300):
            if (await counters(db, sale.tt))["sold"] == 2:
                return
            await asyncio.sleep(0.1)

    await back_by(refund)
    # Four seats came back for five waiting: the first four in line are offered them, in order; the fifth waits.
    states = [
        await wait_entry(api, tokens, f"w{i}", e["id"], lambda e: e["status"] == "offered")
        for i, e in enumerate(entries[:4], 1)
    ]
    assert [e["status"] for e in states] == ["offered"] * 4
    last = await wait_entry(api, tokens, "w5", entries[4]["id"], lambda e: False, timeout=0)
    assert (last["status"], last["place"]) == ("waiting", 1)
    # The inventory and the waiting list add up. (The checker also reports the voided ticket of a paid order as
    # ``paid_tickets_not_live``: its rule for organisers' voids, not the list's.)
    assert [v for v in await violations(db) if v.rule != "paid_tickets_not_live"] == []
