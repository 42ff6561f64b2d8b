"""One buyer cannot hold a whole event: a buyer's active holds are capped per ticket type and per event
(``BOXOFFICE_BUYER_HOLD_LIMIT_PER_TICKET_TYPE`` / ``…_PER_EVENT``), refused with 409 ``hold_limit_reached``, and no
burst of one token's requests gets past the cap, on PostgreSQL and on SQLite.

Before issue 10 nothing capped a buyer (the audit: 25 × ``POST /v1/holds {quantity: 10}`` by one token held all 200
seats), so every test here failed there: each over-cap hold was answered 201.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Hold, TicketType
from tests.checkout_helpers import checkout, wait_order
from tests.hardening.apps import sqlite_app
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type


async def _hold(api: httpx.AsyncClient, tokens: Tokens, tt_id: str, quantity: int, user: str = "alice") -> Any:
    return await api.post("/v1/holds", json={"ticket_type_id": tt_id, "quantity": quantity}, headers=tokens.buyer(user))


async def held_by(db: Database, user: str) -> int:
    """Seats ``user`` holds now (active holds), from the database."""
    async with db.session() as s:
        stmt = select(func.coalesce(func.sum(Hold.quantity), 0)).where(
            col(Hold.user_id) == user, col(Hold.status) == "active"
        )
        return int((await s.execute(stmt)).scalar_one())


async def inventory_agrees(db: Database) -> None:
    """For every ticket type: held = Σ active holds and held + sold ≤ capacity."""
    async with db.session() as s:
        for tt in (await s.execute(select(TicketType))).scalars():
            active = (
                await s.execute(
                    select(func.coalesce(func.sum(Hold.quantity), 0)).where(
                        col(Hold.ticket_type_id) == tt.id, col(Hold.status) == "active"
                    )
                )
            ).scalar_one()
            assert tt.held == active and tt.held + tt.sold <= tt.capacity, (tt.name, tt.held, active)


async def test_one_token_cannot_hold_the_whole_event(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings
) -> None:
    """The audit's own scenario, with the default caps (20 per ticket type, 40 per event)."""
    assert (settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event) == (20, 40)
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=200, max_per_order=10)
    answers = [await _hold(api, tokens, tt["id"], 10) for _ in range(25)]
    assert Counter(r.status_code for r in answers) == {201: 2, 409: 23}
    refusal = answers[-1].json()
    assert refusal["code"] == "hold_limit_reached" and refusal["scope"] == "ticket_type"
    assert (refusal["limit"], refusal["held"]) == (20, 20)
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 180
    assert (await _hold(api, tokens, tt["id"], 10, user="bob")).status_code == 201  # others still buy
    await inventory_agrees(db)


async def test_caps_per_ticket_type_and_per_event(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings
) -> None:
    settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event = 4, 6
    admin = tokens.admin()
    event = await make_event(api, admin)
    a = await make_ticket_type(api, admin, event["id"], name="A", capacity=100)
    b = await make_ticket_type(api, admin, event["id"], name="B", capacity=100)
    first = await _hold(api, tokens, a["id"], 3)
    assert first.status_code == 201
    r = await _hold(api, tokens, a["id"], 2)
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["scope"], r.json()["limit"], r.json()["held"]) == (
        "hold_limit_reached",
        "ticket_type",
        4,
        3,
    )
    assert (await _hold(api, tokens, a["id"], 1)).status_code == 201  # exactly up to the cap
    assert (await _hold(api, tokens, b["id"], 2)).status_code == 201  # 6 in the event
    r = await _hold(api, tokens, b["id"], 1)
    assert r.status_code == 409 and (r.json()["scope"], r.json()["limit"], r.json()["held"]) == ("event", 6, 6)
    # A refused hold changed nothing.
    rows = await availability(api, admin, event["id"])
    assert (rows[a["id"]]["available"], rows[b["id"]]["available"]) == (96, 98)
    # Another buyer, and the same buyer at another event, have caps of their own.
    assert (await _hold(api, tokens, a["id"], 4, user="bob")).status_code == 201
    other = await make_event(api, admin, name="Other")
    c = await make_ticket_type(api, admin, other["id"], capacity=100)
    assert (await _hold(api, tokens, c["id"], 4)).status_code == 201
    # Releasing a hold gives its room back at once.
    assert (await api.delete(f"/v1/holds/{first.json()['id']}", headers=tokens.buyer())).status_code == 200
    assert (await _hold(api, tokens, a["id"], 3)).status_code == 201
    assert await held_by(db, "alice") == 6 + 4
    # 0 means no cap.
    settings.buyer_hold_limit_per_ticket_type = settings.buyer_hold_limit_per_event = 0
    assert (await _hold(api, tokens, a["id"], 50)).status_code == 201
    await inventory_agrees(db)


async def test_bought_seats_do_not_count(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    """The cap is on holding, not buying: once a checkout converts the holds, the buyer may hold again."""
    settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event = 4, 4
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=50, pricing_model="free", base_price_cents=0)
    hold = await _hold(api, tokens, tt["id"], 4)
    assert (await _hold(api, tokens, tt["id"], 1)).json()["code"] == "hold_limit_reached"
    r = await checkout(api, tokens, [hold.json()["id"]])
    assert r.status_code == 201 and r.json()["status"] == "paid", r.text
    await wait_order(api, tokens.buyer(), r.json()["order_id"], lambda o: o["status"] in ("paid", "fulfilled"))
    assert (await _hold(api, tokens, tt["id"], 4)).status_code == 201
    await inventory_agrees(db)


async def burst(api: httpx.AsyncClient, tokens: Tokens, tt_ids: list[str], n: int) -> Counter[Any]:
    """``n`` one-seat holds fired at once by one token, spread over ``tt_ids``."""
    answers = await asyncio.gather(*(_hold(api, tokens, tt_ids[i % len(tt_ids)], 1) for i in range(n)))
    return Counter(r.status_code if r.status_code == 201 else r.json()["code"] for r in answers)


async def race(api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings) -> None:
    """A burst of one buyer's holds never takes them past either cap (and never under it: the rest fit)."""
    admin = tokens.admin()
    settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event = 5, 0
    event = await make_event(api, admin)
    a = await make_ticket_type(api, admin, event["id"], name="A", capacity=1000)
    assert await burst(api, tokens, [a["id"]], 40) == {201: 5, "hold_limit_reached": 35}
    assert await held_by(db, "alice") == 5

    settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event = 0, 7
    other = await make_event(api, admin, name="Other")
    b = await make_ticket_type(api, admin, other["id"], name="B", capacity=1000)
    c = await make_ticket_type(api, admin, other["id"], name="C", capacity=1000)
    assert await burst(api, tokens, [b["id"], c["id"]], 40) == {201: 7, "hold_limit_reached": 33}
    assert await held_by(db, "alice") == 5 + 7
    await inventory_agrees(db)


async def test_a_burst_never_passes_the_cap_postgres(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings
) -> None:
    await race(api, tokens, db, settings)


async def test_a_burst_never_passes_the_cap_sqlite(tmp_path: Path, tokens: Tokens) -> None:
    async with sqlite_app(tmp_path) as (api, db, settings):
        await race(api, tokens, db, settings)
