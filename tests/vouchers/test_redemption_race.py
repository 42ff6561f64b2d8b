"""The issue's proof: 50 concurrent redemptions of a 10-use voucher, exactly 10 succeed; cancelling one frees exactly
one use. On PostgreSQL (the order cancelled through its checkout run) and on SQLite (the hold released)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from boxoffice.db import Database
from tests.books import assert_books_balanced, findings
from tests.checkout_helpers import checkout
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type
from tests.vouchers.helpers import hold_with, make_voucher, seats, voucher_row


async def storm(api: httpx.AsyncClient, tokens: Tokens, tt_id: str, code: str, n: int, first: int = 0) -> list[Any]:
    """``n`` buyers redeem ``code`` for one seat each, all at once; the answers, by buyer."""
    answers = await asyncio.gather(*(hold_with(api, tokens, tt_id, code, user=f"b{first + i}") for i in range(n)))
    return list(answers)


def tally(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json().get("code", "")) for r in answers)


async def sale(api: httpx.AsyncClient, tokens: Tokens) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=100, max_per_order=None, base_price_cents=5000)
    voucher = await make_voucher(api, tokens, event["id"], code="TEN-FOR-ALL", max_uses=10, percent_off=20)
    return event, tt, voucher


async def test_50_concurrent_redemptions_postgres(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    _event, tt, voucher = await sale(api, tokens)
    answers = await storm(api, tokens, tt["id"], "ten-for-all", 50)
    assert tally(answers) == {(201, ""): 10, (409, "voucher_exhausted"): 40}
    assert (await voucher_row(db, voucher["id"])).uses == 10
    assert (await seats(db, tt["id"]))[1] == 10  # held: only the winners took seats
    await assert_books_balanced(db)

    # Cancelling one frees one use: a winner's checkout, cancelled by the buyer, gives its use back.
    i, won = next((i, r.json()) for i, r in enumerate(answers) if r.status_code == 201)
    assert won["voucher_code"] == "TEN-FOR-ALL"
    started = await checkout(api, tokens, [won["id"]], user=f"b{i}")
    assert started.status_code == 201, started.text
    assert started.json()["total_amount"] == 4000  # 20 % off 5000
    r = await api.post(f"/v1/orders/{started.json()['order_id']}/cancel", headers=tokens.buyer(f"b{i}"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert (await voucher_row(db, voucher["id"])).uses == 9
    await assert_books_balanced(db)

    again = await storm(api, tokens, tt["id"], "TEN-FOR-ALL", 10, first=100)
    assert tally(again) == {(201, ""): 1, (409, "voucher_exhausted"): 9}
    assert (await voucher_row(db, voucher["id"])).uses == 10
    await assert_books_balanced(db)


async def test_50_concurrent_redemptions_sqlite(sqlite_api: tuple[httpx.AsyncClient, Database], tokens: Tokens) -> None:
    api, db = sqlite_api
    _event, tt, voucher = await sale(api, tokens)
    answers = await storm(api, tokens, tt["id"], "Ten-For-All", 50)
    assert tally(answers) == {(201, ""): 10, (409, "voucher_exhausted"): 40}
    assert (await voucher_row(db, voucher["id"])).uses == 10

    i, won = next((i, r.json()) for i, r in enumerate(answers) if r.status_code == 201)
    r = await api.delete(f"/v1/holds/{won['id']}", headers=tokens.buyer(f"b{i}"))
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert (await voucher_row(db, voucher["id"])).uses == 9
    r = await api.delete(f"/v1/holds/{won['id']}", headers=tokens.buyer(f"b{i}"))  # a repeat gives nothing more
    assert r.status_code == 200 and (await voucher_row(db, voucher["id"])).uses == 9

    again = await storm(api, tokens, tt["id"], "ten-for-all", 10, first=100)
    assert tally(again) == {(201, ""): 1, (409, "voucher_exhausted"): 9}
    assert (await voucher_row(db, voucher["id"])).uses == 10
    found = await findings(db, "org1", settled=True)
    assert found.ok, "\n".join(str(v) for v in found.violations)
