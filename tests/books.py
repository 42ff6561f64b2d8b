"""The invariant every fault must leave intact, checked after a scenario with the same checker as
``boxoffice check`` (``boxoffice.books.invariants``): holds, inventory, orders, transactions, tickets, attendees and
the ledger agree. ``assert_books_balanced`` wants every captured-but-unsold payment refunded already;
``assert_refunds_consistent`` accepts automatic refunds still in flight."""

from __future__ import annotations

from boxoffice.books.invariants import Findings, check_books
from boxoffice.db import Database


async def findings(db: Database, org: str | None = "org1", *, settled: bool) -> Findings:
    """The checker's findings for ``org`` (None: every organisation), read in one snapshot."""
    async with db.session() as session:
        await db.snapshot(session)
        return await check_books(session, organization_id=org, settled=settled)


async def assert_books_balanced(db: Database, org: str = "org1") -> dict[str, object]:
    """No violation at all, and nothing captured for an unsold order left unrefunded."""
    found = await findings(db, org, settled=True)
    assert found.ok, "\n".join(str(v) for v in found.violations)
    return {"orders": found.orders, "tickets": found.tickets, "journals": found.journals}


async def assert_refunds_consistent(db: Database, org: str = "org1") -> None:
    """No violation, while refunds may still be in flight (e.g. between a partial refund's steps)."""
    found = await findings(db, org, settled=False)
    assert found.ok, "\n".join(str(v) for v in found.violations)
