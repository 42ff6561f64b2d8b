"""Redeeming at ``POST /v1/holds``: each reason a code is refused, with its code, changing nothing (no use taken, no
seat held); uses are per seat; the hold's own rules come first; a hold that ends unsold gives its uses back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from boxoffice.db import Database
from boxoffice.inventory.holds import expire_due_holds
from tests.books import assert_books_balanced
from tests.harness import Tokens
from tests.helpers import iso, make_event, make_ticket_type
from tests.vouchers.helpers import hold_with, make_voucher, seats, voucher_row


async def test_each_refusal_has_its_code_and_changes_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    other_event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], max_per_order=5)
    vip = await make_ticket_type(api, admin, event["id"], name="VIP")
    now = datetime.now(UTC)
    await make_voucher(api, tokens, event["id"], code="THREE", max_uses=3)
    await make_voucher(api, tokens, event["id"], code="LATER", valid_from=iso(now + timedelta(days=1)))
    await make_voucher(api, tokens, event["id"], code="GONE", valid_until=iso(now - timedelta(seconds=1)))
    await make_voucher(api, tokens, event["id"], code="VIPONLY", ticket_type_id=vip["id"])
    await make_voucher(api, tokens, other_event["id"], code="ELSEWHERE")
    off = await make_voucher(api, tokens, event["id"], code="OFF")
    await api.post(f"/v1/vouchers/{off['id']}/deactivate", headers=admin)

    cases = [
        ("NOSUCH", 1, 404, "voucher_not_found"),
        ("ELSEWHERE", 1, 404, "voucher_not_found"),  # a code of another event
        ("LATER", 1, 409, "voucher_not_yet_valid"),
        ("GONE", 1, 409, "voucher_expired"),
        ("OFF", 1, 409, "voucher_inactive"),
        ("VIPONLY", 1, 422, "voucher_not_valid_for_ticket_type"),
        ("THREE", 4, 409, "voucher_exhausted"),  # a use per seat: 4 seats need 4 uses
        ("THREE", 6, 422, "max_per_order_exceeded"),  # the ticket type's own rules come first
    ]
    for code, qty, status, problem in cases:
        r = await hold_with(api, tokens, tt["id"], code, qty=qty)
        assert (r.status_code, r.json()["code"]) == (status, problem), (code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert (await seats(db, tt["id"]))[1] == 0
    listed = (await api.get(f"/v1/events/{event['id']}/vouchers", headers=admin)).json()
    assert all(v["uses"] == 0 for v in listed)

    r = await hold_with(api, tokens, tt["id"], "three", qty=3)
    assert r.status_code == 201 and r.json()["voucher_code"] == "THREE"
    r = await hold_with(api, tokens, tt["id"], "THREE", user="bob")
    assert r.status_code == 409 and r.json()["uses_left"] == 0
    await assert_books_balanced(db)


async def test_expired_and_released_holds_give_their_uses_back(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"])
    v = await make_voucher(api, tokens, event["id"], code="TWO", max_uses=2)
    first = (await hold_with(api, tokens, tt["id"], "TWO")).json()
    second = (await hold_with(api, tokens, tt["id"], "TWO", user="bob")).json()
    assert (await voucher_row(db, v["id"])).uses == 2
    r = await api.get(f"/v1/holds/{first['id']}", headers=tokens.buyer())
    assert r.json()["voucher_code"] == "TWO" and r.json()["voucher_id"] == v["id"]

    await api.delete(f"/v1/holds/{first['id']}", headers=tokens.buyer())
    assert (await voucher_row(db, v["id"])).uses == 1
    async with db.transaction() as s:  # the sweeper, an hour on
        assert await expire_due_holds(s, now=datetime.now(UTC) + timedelta(hours=1)) == 1
    assert (await voucher_row(db, v["id"])).uses == 0
    r = await api.get(f"/v1/holds/{second['id']}", headers=tokens.buyer("bob"))
    assert r.json()["status"] == "expired"
    await assert_books_balanced(db)
