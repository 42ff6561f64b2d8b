"""An organiser's vouchers: one or many (bulk codes unique, from the secure alphabet, with the prefix), listed by
page, tag and code, read, changed where safe, deactivated; every refusal with its code, changing nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from boxoffice.db import Database
from boxoffice.ticketing.codes import ALPHABET
from tests.harness import Tokens
from tests.helpers import iso, make_event, make_ticket_type
from tests.vouchers.helpers import hold_with, make_voucher, voucher_row


async def test_bulk_codes_are_unique_and_follow_the_prefix(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    body = {"kind": "amount_off", "amount_off_cents": 500, "count": 1000, "prefix": "vip-", "tag": "press"}
    r = await api.post(f"/v1/events/{event['id']}/vouchers/bulk", json=body, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()
    codes = [v["code"] for v in made["vouchers"]]
    assert made["count"] == 1000 and len(set(codes)) == 1000
    assert all(re.fullmatch(f"VIP-[{ALPHABET}]{{12}}", c) for c in codes)
    # A second batch with the same prefix never repeats a code of the first.
    r = await api.post(f"/v1/events/{event['id']}/vouchers/bulk", json={**body, "count": 500}, headers=admin)
    assert r.status_code == 201 and not set(codes) & {v["code"] for v in r.json()["vouchers"]}

    # Listed by page, by tag, and by the start of a code (any case).
    listed = []
    for offset in range(0, 2000, 500):
        page = await api.get(f"/v1/events/{event['id']}/vouchers?limit=500&offset={offset}&tag=press", headers=admin)
        assert page.status_code == 200
        listed += [v["code"] for v in page.json()]
    assert len(listed) == 1500 == len(set(listed)) and listed == sorted(listed)
    prefix = codes[0][:7].lower()
    found = (await api.get(f"/v1/events/{event['id']}/vouchers", params={"code": prefix}, headers=admin)).json()
    assert found and all(v["code"].startswith(prefix.upper()) for v in found)
    assert (await api.get(f"/v1/events/{event['id']}/vouchers?tag=none", headers=admin)).json() == []


async def test_create_read_update_deactivate(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"])
    v = await make_voucher(api, tokens, event["id"], kind="fixed_price", price_cents=2500, ticket_type_id=tt["id"])
    assert re.fullmatch(f"[{ALPHABET}]{{12}}", v["code"])  # no code given: a random one
    assert (v["kind"], v["price_cents"], v["percent_off"], v["max_uses"], v["uses_left"]) == (
        "fixed_price",
        2500,
        None,
        1,
        1,
    )
    r = await api.get(f"/v1/vouchers/{v['id']}", headers=admin)
    assert r.status_code == 200 and r.json() == v

    until = datetime.now(UTC) + timedelta(days=2)
    r = await api.patch(
        f"/v1/vouchers/{v['id']}", json={"max_uses": 5, "valid_until": iso(until), "comment": "sponsor"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["max_uses"], r.json()["uses_left"], r.json()["comment"]) == (5, 5, "sponsor")
    assert r.json()["price_cents"] == 2500  # the discount never changes

    assert (await hold_with(api, tokens, tt["id"], v["code"], qty=2)).status_code == 201
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"max_uses": 1}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "voucher_max_uses_below_uses"
    assert (await voucher_row(db, v["id"])).max_uses == 5

    r = await api.post(f"/v1/vouchers/{v['id']}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    r = await hold_with(api, tokens, tt["id"], v["code"], user="bob")
    assert r.status_code == 409 and r.json()["code"] == "voucher_inactive"
    r = await api.patch(f"/v1/vouchers/{v['id']}", json={"active": True}, headers=admin)
    assert r.status_code == 200 and (await hold_with(api, tokens, tt["id"], v["code"], user="bob")).status_code == 201


async def test_refusals_change_nothing(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    other_event = await make_event(api, admin)
    other_tt = await make_ticket_type(api, admin, other_event["id"])
    await make_voucher(api, tokens, event["id"], code="TAKEN")
    url = f"/v1/events/{event['id']}/vouchers"
    now = datetime.now(UTC)
    refused = [
        ({"kind": "percentage", "percent_off": 10, "code": "taken"}, 409, "voucher_code_taken"),
        ({"kind": "percentage"}, 422, "invalid_discount"),
        ({"kind": "free", "amount_off_cents": 100}, 422, "invalid_discount"),
        ({"kind": "amount_off", "percent_off": 10}, 422, "invalid_discount"),
        ({"kind": "free", "reserve_seats": True}, 422, "reservation_needs_ticket_type"),
        ({"kind": "free", "ticket_type_id": other_tt["id"]}, 404, "ticket_type_not_found"),
        (
            {"kind": "free", "valid_from": iso(now), "valid_until": iso(now - timedelta(seconds=1))},
            422,
            "voucher_window_inverted",
        ),
        ({"kind": "free", "percent_off": 101}, 422, "validation_error"),
        ({"kind": "free", "code": "a b"}, 422, "validation_error"),
    ]
    for body, status, code in refused:
        r = await api.post(url, json=body, headers=admin)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    listed = (await api.get(url, headers=admin)).json()
    assert [v["code"] for v in listed] == ["TAKEN"]
    r = await api.post(f"/v1/events/{event['id']}/vouchers/bulk", json={"kind": "free", "count": 0}, headers=admin)
    assert r.status_code == 422
    # The catalogue's price limit, in whole units of the event's currency: ¥1,000,000 at most.
    yen = await make_event(api, admin, currency="JPY")
    r = await api.post(
        f"/v1/events/{yen['id']}/vouchers", json={"kind": "amount_off", "amount_off_cents": 1_000_001}, headers=admin
    )
    assert (r.status_code, r.json()["code"]) == (422, "price_too_high")


async def test_another_organisation_sees_nothing(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin, stranger = tokens.admin(), tokens.admin(org="org2")
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"])
    v = await make_voucher(api, tokens, event["id"], code="OURS")
    for method, path, body in [
        ("GET", f"/v1/vouchers/{v['id']}", None),
        ("PATCH", f"/v1/vouchers/{v['id']}", {"tag": "x"}),
        ("POST", f"/v1/vouchers/{v['id']}/deactivate", None),
        ("GET", f"/v1/events/{event['id']}/vouchers", None),
        ("POST", f"/v1/events/{event['id']}/vouchers", {"kind": "free"}),
    ]:
        r = await api.request(method, path, json=body, headers=stranger)
        assert r.status_code == 404 and "OURS" not in r.text, (method, path, r.text)
    # A buyer of another organisation cannot redeem it either (the ticket type is not theirs).
    r = await api.post(
        "/v1/holds",
        json={"ticket_type_id": tt["id"], "quantity": 1, "voucher": "OURS"},
        headers=tokens.buyer(org="org2"),
    )
    assert r.status_code == 404 and r.json()["code"] == "ticket_type_not_found"
    r = await api.get(f"/v1/vouchers/{v['id']}", headers=tokens.buyer())
    assert r.status_code == 403
