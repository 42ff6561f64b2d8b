"""What the waiting list tests share: a sold-out ticket type, buyers joining its list, entries read as their buyers
see them, and the invariant checker run with the waiting lists' entries loaded."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from boxoffice.books.invariants import Violation, check_books
from boxoffice.db import Database
from boxoffice.models import TicketType
from tests.checkout_helpers import hold
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


@dataclass
class SoldOut:
    """A ticket type of ``capacity`` seats, all held by ``holder``'s hold ``hold_id``."""

    event: dict[str, Any]
    ticket_type: dict[str, Any]
    hold_id: str
    holder: str = "holder"

    @property
    def tt(self) -> str:
        return str(self.ticket_type["id"])


async def sold_out(api: httpx.AsyncClient, tokens: Tokens, capacity: int = 2, **ticket_type: Any) -> SoldOut:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=capacity, base_price_cents=5000, **ticket_type)
    return SoldOut(event, tt, await hold(api, tokens, tt["id"], capacity, user="holder"))


async def join(api: httpx.AsyncClient, tokens: Tokens, tt: str, user: str, quantity: int = 1) -> dict[str, Any]:
    r = await api.post(f"/v1/ticket-types/{tt}/waitlist", json={"quantity": quantity}, headers=tokens.buyer(user))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def entry(api: httpx.AsyncClient, tokens: Tokens, user: str, entry_id: str) -> dict[str, Any]:
    r = await api.get(f"/v1/waitlist/{entry_id}", headers=tokens.buyer(user))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_entry(
    api: httpx.AsyncClient,
    tokens: Tokens,
    user: str,
    entry_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 30,
) -> dict[str, Any]:
    """The entry once ``done`` says so (or as it is when ``timeout`` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await entry(api, tokens, user, entry_id)
        if done(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def counters(db: Database, tt: str) -> dict[str, int]:
    """The ticket type's seat counters."""
    async with db.session() as s:
        row = await s.get(TicketType, uuid.UUID(tt), populate_existing=True)
        assert row is not None
        names = ("capacity", "held", "sold", "reserved", "waitlist_waiting", "waitlist_reserved")
        return {n: int(getattr(row, n)) for n in names}


async def violations(db: Database, org: str = "org1") -> list[Violation]:
    """Every invariant ``boxoffice check`` finds broken (the waiting lists' rules among them), in one snapshot."""
    async with db.session() as s:
        await db.snapshot(s)
        return (await check_books(s, organization_id=org)).violations
