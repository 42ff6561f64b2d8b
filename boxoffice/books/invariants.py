"""The invariants every fault must leave intact, checked from the database as it is: one implementation for
``boxoffice check``, the reconciliation report and the test suite's books check.

- Inventory: ``held + sold ≤ capacity``; ``held`` = Σ active holds; ``sold`` = live tickets.
- Orders: a paid order has its holds converted, its tickets (live, one attendee each) and a succeeded transaction
  for its total; a refunded order has only refunded tickets and its money given back; a cancelled order keeps no
  seats, no live tickets and no captured money; a pending order has no tickets.
- Payments: a transaction's refunded amount is what its settled refunds add up to, and refunds (settled or in
  flight) never exceed what was captured.
- Tickets: a refunded ticket (scanned or not) is listed by a settled refund; a ticket a settled refund lists is
  refunded; every attendee of an issued order holds a ticket.
- Vouchers (issue 13): uses never exceed ``max_uses`` and equal the seats of the live holds and sold lines that
  redeemed them; reserved seats are what reserving vouchers keep, per ticket type.
- Ledger: every journal balances per currency; every settled refund is posted; the money booked at each provider
  equals captured − refunded, per transaction and per provider; unallocated receipts are zero.

Money captured for an unsold order is either refunded already or (unless ``settled`` is asked) has its automatic
refund in flight: on a live system that is work in progress, on a quiet one it is money kept.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.books.invariant_rules import (
    Index,
    Inventory,
    Rows,
    Violation,
    inventory_lines,
    inventory_violations,
    order_violations,
    ticket_violations,
    voucher_violations,
)
from boxoffice.books.money_rules import Clearing, clearing_lines, ledger_violations, payment_violations
from boxoffice.db import Database
from boxoffice.models import (
    Attendee,
    Event,
    Hold,
    LedgerEntry,
    Order,
    OrderLine,
    Refund,
    Ticket,
    TicketType,
    Transaction,
    Voucher,
    WaitlistEntry,
)
from boxoffice.models.states import REFUND_IN_FLIGHT

__all__ = ["Clearing", "Findings", "Inventory", "Violation", "check_books", "check_command", "evaluate", "load"]


@dataclass
class Findings:
    """What a check found: every violation, and the figures the reconciliation report shows."""

    violations: list[Violation]
    inventory: list[Inventory]
    clearing: list[Clearing]
    orders: int
    tickets: int
    journals: int
    refunds_in_flight: int

    @property
    def ok(self) -> bool:
        return not self.violations


async def load(session: AsyncSession, *, organization_id: str | None, event_id: uuid.UUID | None) -> Rows:
    """Read the rows of one organisation (or all) and one event (or all)."""

    def scoped(model: Any) -> Any:
        stmt = select(model)
        if organization_id is not None:
            stmt = stmt.where(model.organization_id == organization_id)
        if event_id is not None:
            stmt = stmt.where(model.event_id == event_id)
        return stmt

    orders_in_scope = scoped(Order).with_only_columns(col(Order.id))

    async def rows(stmt: Any) -> Sequence[Any]:
        return (await session.execute(stmt)).scalars().all()

    return Rows(
        types=await rows(scoped(TicketType)),
        holds=await rows(scoped(Hold)),
        orders=await rows(scoped(Order)),
        lines=await rows(select(OrderLine).where(col(OrderLine.order_id).in_(orders_in_scope))),
        txns=await rows(select(Transaction).where(col(Transaction.order_id).in_(orders_in_scope))),
        tickets=await rows(scoped(Ticket)),
        attendees=await rows(select(Attendee).where(col(Attendee.order_id).in_(orders_in_scope))),
        refunds=await rows(select(Refund).where(col(Refund.order_id).in_(orders_in_scope))),
        entries=await rows(scoped(LedgerEntry)),
        vouchers=await rows(scoped(Voucher)),
        waitlist=await rows(scoped(WaitlistEntry)),  # issue 13: the seats kept for waiting lists add up
    )


async def check_books(
    session: AsyncSession,
    *,
    organization_id: str | None = None,
    event_id: uuid.UUID | None = None,
    settled: bool = False,
) -> Findings:
    """Check every invariant over one organisation (default: all) and one event (default: all), as the session
    sees the database (give it one snapshot). With ``settled``, money captured for an unsold order must already
    be refunded; otherwise an automatic refund in flight for it is accepted."""
    return evaluate(await load(session, organization_id=organization_id, event_id=event_id), settled=settled)


def evaluate(rows: Rows, *, settled: bool) -> Findings:
    """Every invariant over ``rows`` (pure: no I/O)."""
    index = Index(rows)
    inventory = list(inventory_lines(rows))
    clearing = list(clearing_lines(rows))
    violations = [
        *inventory_violations(inventory, rows),
        *order_violations(rows, index, settled=settled),
        *payment_violations(rows, index),
        *ticket_violations(rows, index),
        *ledger_violations(rows, index, clearing, settled=settled),
        *voucher_violations(rows),
    ]
    return Findings(
        violations=violations,
        inventory=inventory,
        clearing=clearing,
        orders=len(rows.orders),
        tickets=len(rows.tickets),
        journals=len({e.journal_key for e in rows.entries}),
        refunds_in_flight=sum(1 for r in rows.refunds if r.status in REFUND_IN_FLIGHT),
    )


# --- the command -------------------------------------------------------------------------------------------------


async def check_command(
    database_url: str, *, event_id: uuid.UUID | None = None, organization_id: str | None = None, settled: bool = False
) -> int:
    """``boxoffice check``: print each violation with its ids and a summary; 0 when clean, 1 on any violation,
    2 when the event asked for does not exist."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.session() as session:
            await db.snapshot(session)
            if event_id is not None and await session.get(Event, event_id) is None:
                print(f"boxoffice check: no event {event_id}", file=sys.stderr)
                return 2
            findings = await check_books(session, organization_id=organization_id, event_id=event_id, settled=settled)
    finally:
        await db.dispose()
    for v in findings.violations:
        print(v)
    seats = sum(i.capacity for i in findings.inventory)
    sold = sum(i.sold for i in findings.inventory)
    scope = f"event {event_id}" if event_id else "every event"
    print(
        f"boxoffice check ({scope}): {len(findings.violations)} violation(s); {len(findings.inventory)} ticket "
        f"type(s), {sold} of {seats} seats sold, {findings.orders} orders, {findings.tickets} tickets, "
        f"{findings.journals} journals, {findings.refunds_in_flight} refund(s) in flight"
    )
    return 1 if findings.violations else 0
