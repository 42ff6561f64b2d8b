"""Seats that come back while buyers wait: kept for the line in the statement that returns them (no concurrent
public hold gets one), the line's run told only once that transaction commits, and the checker catching counters
that do not add up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from boxoffice.db import Database
from boxoffice.inventory.holds import move_seats
from boxoffice.models.types import utcnow
from boxoffice.waitlist import hints, offers
from boxoffice.waitlist.client import WaitlistRuns
from tests.checkout_helpers import hold
from tests.harness import Tokens
from tests.waitlist.helpers import counters, join, sold_out, violations


class Recorder(hints.Notifier):
    """A notifier that records which lists it was asked to tell instead of signalling them."""

    def __init__(self) -> None:
        async def no_client() -> Any:
            raise AssertionError("not used")

        super().__init__(no_client, WaitlistRuns("unused", 60, 60))
        self.told: list[set[uuid.UUID]] = []

    def notify(self, ticket_type_ids: set[uuid.UUID]) -> None:
        self.told.append(set(ticket_type_ids))


async def test_a_release_racing_public_holds_gives_them_no_seat(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    sale = await sold_out(api, tokens, capacity=10)
    for n in range(10):
        await join(api, tokens, sale.tt, f"w{n}")

    async def public(n: int) -> int:
        body = {"ticket_type_id": sale.tt, "quantity": 1}
        return (await api.post("/v1/holds", json=body, headers=tokens.buyer(f"p{n}"))).status_code

    async def release() -> int:
        return (await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer(sale.holder))).status_code

    released, *publics = await asyncio.gather(release(), *(public(n) for n in range(40)))
    assert (released, set(publics)) == (200, {409})
    seats = await counters(db, sale.tt)
    assert (seats["held"], seats["waitlist_reserved"], seats["waitlist_waiting"]) == (0, 10, 10)
    assert await violations(db) == []


async def test_the_line_is_told_only_of_committed_returns(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    waited = await sold_out(api, tokens, capacity=2)
    await join(api, tokens, waited.tt, "w1")
    nobody = await sold_out(api, tokens, capacity=2)  # nobody waits for this one
    recorder = hints.attach(db, Recorder())
    try:
        async with db.session() as s:
            await move_seats(s, {uuid.UUID(waited.tt): 1, uuid.UUID(nobody.tt): 1}, held=-1)
            await s.rollback()  # rolled back: nothing came back, nobody is told
        assert recorder.told == []
        async with db.transaction() as s:
            # Bookkeeping as a release does it (the test moves the counters, not the holds): the waited-for type's
            # seat is kept for its line and that line alone is told, once the transaction commits.
            await move_seats(s, {uuid.UUID(waited.tt): 1, uuid.UUID(nobody.tt): 1}, held=-1)
            assert recorder.told == []
        assert recorder.told == [{uuid.UUID(waited.tt)}]
        assert (await counters(db, waited.tt))["waitlist_reserved"] == 1
        assert (await counters(db, nobody.tt))["waitlist_reserved"] == 0
    finally:
        hints.detach(db, recorder)


async def test_the_checker_finds_kept_seats_that_do_not_add_up(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    sale = await sold_out(api, tokens, capacity=2)
    entry = await join(api, tokens, sale.tt, "w1")
    assert await violations(db) == []
    ids = {"tt": uuid.UUID(sale.tt), "e": uuid.UUID(entry["id"])}
    tampered: list[tuple[str, set[str]]] = [
        ("UPDATE waitlist_entries SET quantity = 2 WHERE id = :e", {"waitlist_waiting_mismatch"}),
        (
            "ALTER TABLE ticket_types DROP CONSTRAINT ck_ticket_types_waitlist;"
            "UPDATE ticket_types SET waitlist_reserved = 2 WHERE id = :tt",
            {"waitlist_kept_unwanted", "waitlist_kept_beyond_capacity"},
        ),
        (
            "UPDATE waitlist_entries SET status = 'offered' WHERE id = :e",
            {"waitlist_waiting_mismatch", "waitlist_offer_hold"},
        ),
    ]
    for statements, rules in tampered:
        async with db.engine.connect() as conn:
            trans = await conn.begin()
            for statement in statements.split(";"):
                await conn.execute(text(statement), {k: v for k, v in ids.items() if f":{k}" in statement})
            found = {v.rule for v in await _violations_in(conn) if v.rule.startswith("waitlist")}
            await trans.rollback()
        assert found == rules, statements
    assert await violations(db) == []


async def _violations_in(conn: Any) -> list[Any]:
    """The checker's findings as ``conn``'s own transaction sees the database (tampered, not yet rolled back)."""
    from sqlmodel.ext.asyncio.session import AsyncSession

    from boxoffice.books.invariants import check_books

    async with AsyncSession(bind=conn) as session:
        return (await check_books(session, organization_id="org1")).violations


async def test_the_first_in_line_is_served_first_even_when_it_wants_more(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    sale = await sold_out(api, tokens, capacity=3)
    assert (await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer(sale.holder))).status_code == 200
    singles = [await hold(api, tokens, sale.tt, 1, user="holder") for _ in range(3)]
    first, second = await join(api, tokens, sale.tt, "b1", quantity=2), await join(api, tokens, sale.tt, "b2")
    tt = uuid.UUID(sale.tt)

    async def step() -> list[str]:
        async with db.transaction() as s:
            return (await offers.advance(s, tt, now=utcnow(), offer_seconds=900)).offered

    assert (await api.delete(f"/v1/holds/{singles[0]}", headers=tokens.buyer(sale.holder))).status_code == 200
    assert await step() == []  # one seat kept: b1 wants two, and b2 does not go before her
    assert (await counters(db, sale.tt))["waitlist_reserved"] == 1
    assert (await api.delete(f"/v1/holds/{singles[1]}", headers=tokens.buyer(sale.holder))).status_code == 200
    assert await step() == [first["id"]]
    assert await step() == []  # nothing kept: b2 waits for the next seat
    assert (await api.delete(f"/v1/holds/{singles[2]}", headers=tokens.buyer(sale.holder))).status_code == 200
    assert await step() == [second["id"]]
    assert await violations(db) == []


async def test_the_line_closes_when_sales_are_over(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    sale = await sold_out(api, tokens, capacity=2)
    entries = [await join(api, tokens, sale.tt, f"b{n}") for n in (1, 2)]
    assert (await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer(sale.holder))).status_code == 200
    after_the_event = datetime.fromisoformat(sale.event["ends_at"]) + timedelta(minutes=1)
    async with db.transaction() as s:
        result = await offers.advance(s, uuid.UUID(sale.tt), now=after_the_event, offer_seconds=900)
    assert (result.closed, result.offered, result.waiting_entries) == (True, [], 0)
    for n, e in enumerate(entries, 1):
        r = await api.get(f"/v1/waitlist/{e['id']}", headers=tokens.buyer(f"b{n}"))
        assert r.json()["status"] == "closed"
    seats = await counters(db, sale.tt)
    assert (seats["waitlist_waiting"], seats["waitlist_reserved"], seats["held"]) == (0, 0, 0)
    assert await violations(db) == []
