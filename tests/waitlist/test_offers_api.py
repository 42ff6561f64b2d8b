"""A waiting list through the real API, worker and Temporal server: five buyers wait for a sold-out ticket type, two
seats come back, the first two in line are offered holds in order, the first buys with hers, the second lets hers
pass, and it goes to the third. Offers last ``OFFER_SECONDS`` (tests/waitlist/conftest.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.waitlist.contract import waitlist_workflow_id
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, press, wait_order
from tests.harness import Tokens
from tests.waitlist.helpers import counters, entry, join, sold_out, violations, wait_entry

BUYERS = ["b1", "b2", "b3", "b4", "b5"]


def offered(e: dict[str, Any]) -> bool:
    return e["status"] == "offered"


async def test_five_waiting_two_seats_back_offers_in_order_and_an_untaken_offer_passes_to_the_third(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, temporal: Client, worker: Any
) -> None:
    sale = await sold_out(api, tokens, capacity=2)
    entries = {b: await join(api, tokens, sale.tt, b) for b in BUYERS}
    assert [entries[b]["place"] for b in BUYERS] == [1, 2, 3, 4, 5]
    assert {e["status"] for e in entries.values()} == {"waiting"}
    assert entries["b1"]["workflow_id"] == waitlist_workflow_id(sale.tt)
    assert (await counters(db, sale.tt))["waitlist_waiting"] == 5

    # The holder gives both seats back: they are kept for the line in the release's own statement, so the public
    # cannot take them, and the first two in line are offered holds.
    r = await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer(sale.holder))
    assert r.status_code == 200, r.text
    r = await api.post("/v1/holds", json={"ticket_type_id": sale.tt, "quantity": 1}, headers=tokens.buyer("walk-in"))
    assert (r.status_code, r.json()["code"]) == (409, "sold_out"), r.text
    first = await wait_entry(api, tokens, "b1", entries["b1"]["id"], offered)
    second = await wait_entry(api, tokens, "b2", entries["b2"]["id"], offered)
    assert offered(first) and offered(second), (first, second)
    assert datetime.fromisoformat(first["offer"]["expires_at"]) <= datetime.fromisoformat(second["offer"]["expires_at"])
    waiting = [await entry(api, tokens, b, entries[b]["id"]) for b in ("b3", "b4", "b5")]
    assert [(e["status"], e["place"]) for e in waiting] == [("waiting", 1), ("waiting", 2), ("waiting", 3)]
    assert await counters(db, sale.tt) == {
        "capacity": 2,
        "held": 2,
        "sold": 0,
        "reserved": 0,
        "waitlist_waiting": 3,
        "waitlist_reserved": 0,
    }

    # The first buys with her offer (the hold is hers, like any other); the second does nothing.
    paid = (await checkout(api, tokens, [first["offer"]["hold_id"]], user="b1")).json()
    await press(api, paid["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer("b1"), paid["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order

    third = await wait_entry(api, tokens, "b3", entries["b3"]["id"], offered)
    assert offered(third), third
    passed = await entry(api, tokens, "b2", entries["b2"]["id"])
    assert (passed["status"], passed["offer"]) == ("passed", None)
    taken = await wait_entry(api, tokens, "b1", entries["b1"]["id"], lambda e: e["status"] == "taken")
    assert taken["status"] == "taken"
    rest = [await entry(api, tokens, b, entries[b]["id"]) for b in ("b4", "b5")]
    assert [(e["status"], e["place"]) for e in rest] == [("waiting", 1), ("waiting", 2)]

    # The organiser's view: the line in order, and the run's progress.
    line = (await api.get(f"/v1/ticket-types/{sale.tt}/waitlist?include_ended=true", headers=tokens.admin())).json()
    assert [(e["user_id"], e["status"]) for e in line["entries"]] == [
        ("b1", "taken"),
        ("b2", "passed"),
        ("b3", "offered"),
        ("b4", "waiting"),
        ("b5", "waiting"),
    ]
    assert line["run"] is not None and line["run"]["totals"]["offers_made"] == 3
    assert (line["waiting_seats"], line["kept_seats"]) == (2, 0)
    assert await counters(db, sale.tt) == {
        "capacity": 2,
        "held": 1,
        "sold": 1,
        "reserved": 0,
        "waitlist_waiting": 2,
        "waitlist_reserved": 0,
    }
    assert await violations(db) == []
    await assert_books_balanced(db)
