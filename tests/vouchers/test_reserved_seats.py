"""Seats reserved for voucher holders inside a ticket type's capacity: ordinary holds leave them, under concurrency;
holders take them when the type is otherwise sold out; a use given back returns its seat to the reservation;
deactivating, shrinking or outliving the voucher puts the seats back on sale; a reservation needs free seats."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from boxoffice.db import Database
from boxoffice.inventory.holds import expire_due_holds
from tests.books import assert_books_balanced, findings
from tests.harness import Tokens
from tests.helpers import availability, iso, make_event, make_ticket_type
from tests.vouchers.helpers import hold_with, make_voucher, seats, voucher_row


async def test_reserved_seats_under_concurrency(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, max_per_order=None)
    v = await make_voucher(
        api, tokens, event["id"], code="CREW", max_uses=4, reserve_seats=True, ticket_type_id=tt["id"]
    )
    assert v["reserved"] == 4
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 6

    # 20 ordinary buyers and 6 voucher holders at once: the buyers share the 6 open seats, the holders the 4 kept.
    ordinary = [hold_with(api, tokens, tt["id"], None, user=f"o{i}") for i in range(20)]
    holders = [hold_with(api, tokens, tt["id"], "crew", user=f"v{i}") for i in range(6)]
    answers = await asyncio.gather(*ordinary, *holders)
    got = Counter((r.status_code, r.json().get("code", "")) for r in answers[:20])
    assert got == {(201, ""): 6, (409, "sold_out"): 14}
    got = Counter((r.status_code, r.json().get("code", "")) for r in answers[20:])
    assert got == {(201, ""): 4, (409, "voucher_exhausted"): 2}
    assert await seats(db, tt["id"]) == (10, 10, 0, 0)
    await assert_books_balanced(db)

    # A holder's seat released goes back into the reservation, not on general sale.
    i, won = next((i, r.json()) for i, r in enumerate(answers[20:]) if r.status_code == 201)
    await api.delete(f"/v1/holds/{won['id']}", headers=tokens.buyer(f"v{i}"))
    assert await seats(db, tt["id"]) == (10, 9, 0, 1)
    assert (await voucher_row(db, v["id"])).reserved == 1
    r = await hold_with(api, tokens, tt["id"], None, user="late")
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    # Deactivating the voucher puts its kept seat on sale.
    await api.post(f"/v1/vouchers/{v['id']}/deactivate", headers=admin)
    assert await seats(db, tt["id"]) == (10, 9, 0, 0)
    assert (await hold_with(api, tokens, tt["id"], None, user="late")).status_code == 201
    await assert_books_balanced(db)


async def test_a_reservation_needs_free_seats_and_follows_the_voucher(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10)
    assert (await hold_with(api, tokens, tt["id"], None, qty=5)).status_code == 201
    url = f"/v1/events/{event['id']}/vouchers"
    body = {"kind": "free", "reserve_seats": True, "ticket_type_id": tt["id"]}
    r = await api.post(url, json={**body, "max_uses": 6}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "voucher_seats_unavailable" and r.json()["seats_free"] == 5
    r = await api.post(f"{url}/bulk", json={**body, "max_uses": 2, "count": 3}, headers=admin)  # 6 seats for 3
    assert r.status_code == 409 and r.json()["code"] == "voucher_seats_unavailable"
    assert await seats(db, tt["id"]) == (10, 5, 0, 0) and (await api.get(url, headers=admin)).json() == []

    soon = datetime.now(UTC) + timedelta(minutes=5)
    v = await make_voucher(api, tokens, event["id"], **body, max_uses=3, valid_until=iso(soon))
    assert await seats(db, tt["id"]) == (10, 5, 0, 3)
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"max_uses": 6}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "voucher_seats_unavailable"
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"max_uses": 5}, headers=admin)
    assert r.status_code == 200 and r.json()["reserved"] == 5
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"max_uses": 2}, headers=admin)  # shrinking frees seats
    assert r.status_code == 200 and await seats(db, tt["id"]) == (10, 5, 0, 2)
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"reserve_seats": False}, headers=admin)
    assert r.json()["reserved"] == 0 and await seats(db, tt["id"]) == (10, 5, 0, 0)
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"reserve_seats": True}, headers=admin)
    assert r.json()["reserved"] == 2 and await seats(db, tt["id"]) == (10, 5, 0, 2)
    await assert_books_balanced(db)

    # When its validity ends, the sweep puts the kept seats back on sale (before that, it leaves them).
    async with db.transaction() as s:
        await expire_due_holds(s, now=datetime.now(UTC))
    assert await seats(db, tt["id"]) == (10, 5, 0, 2)
    async with db.transaction() as s:
        await expire_due_holds(s, now=soon + timedelta(seconds=1))
    assert await seats(db, tt["id"]) == (10, 5, 0, 0)  # the held seats stay held: their holds last 10 minutes
    row = await voucher_row(db, v["id"])
    assert (row.reserving, row.reserved, row.reserve_seats) == (False, 0, True)
    await assert_books_balanced(db)


async def test_reserved_seats_sqlite(sqlite_api: tuple[httpx.AsyncClient, Database], tokens: Tokens) -> None:
    api, db = sqlite_api
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=5, max_per_order=None)
    await make_voucher(api, tokens, event["id"], code="CREW", max_uses=2, reserve_seats=True, ticket_type_id=tt["id"])
    ordinary = [hold_with(api, tokens, tt["id"], None, user=f"o{i}") for i in range(10)]
    holders = [hold_with(api, tokens, tt["id"], "CREW", user=f"v{i}") for i in range(3)]
    answers = await asyncio.gather(*ordinary, *holders)
    assert Counter(r.status_code for r in answers[:10]) == {201: 3, 409: 7}
    assert Counter((r.status_code, r.json().get("code", "")) for r in answers[10:]) == {
        (201, ""): 2,
        (409, "voucher_exhausted"): 1,
    }
    assert await seats(db, tt["id"]) == (5, 5, 0, 0)
    i, won = next((i, r.json()) for i, r in enumerate(answers[10:]) if r.status_code == 201)
    await api.delete(f"/v1/holds/{won['id']}", headers=tokens.buyer(f"v{i}"))
    assert await seats(db, tt["id"]) == (5, 4, 0, 1)
    found = await findings(db, "org1", settled=True)
    assert found.ok, "\n".join(str(v) for v in found.violations)
