"""An organiser voids a ticket: refused at every gate from then on, its seat back on sale, its buyer told.

Guarantees (in the caller's transaction; a refused void changes nothing):
- any live ticket of the admin's organisation can be voided (``active`` or ``scanned``, paid or free); a ticket of
  another organisation is ``404 ticket_not_found``; voiding a voided ticket again is a no-op answering the first
  void; a refunded ticket, or one ``used`` at an event that has ended, is ``409 ticket_not_voidable``;
- a ticket in a refund that is still in flight is ``409 refund_in_progress`` (the refund settles it); the order row
  is locked first, as a refund request locks it, so a void and a refund of one ticket never interleave;
- the seat goes back on sale in the same transaction (``sold`` − 1), so ``sold`` = live tickets holds;
- the order itself is left as it is (no money moves: a refund is a separate request).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import get_visible
from boxoffice.auth import Principal
from boxoffice.errors import Conflict, RefundInProgress
from boxoffice.inventory.holds import move_seats
from boxoffice.models import Order, Refund, Ticket, TicketVoid
from boxoffice.models.states import REFUND_IN_FLIGHT, TicketStatus

# A ticket that can still be voided (the state machine allows active/scanned → voided).
LIVE_TO_VOID = (TicketStatus.ACTIVE.value, TicketStatus.SCANNED.value)


class TicketNotVoidable(Conflict):
    code, title = "ticket_not_voidable", "This ticket cannot be voided"


@dataclass(frozen=True)
class Voided:
    """The void (``created`` False when the ticket had been voided before) and the ticket's order."""

    void: TicketVoid
    ticket: Ticket
    created: bool


async def void_ticket(
    session: AsyncSession, who: Principal, ticket_id: uuid.UUID, reason: str, now: datetime
) -> Voided:
    """Void the ticket (see the module's guarantees); the caller commits, then notifies the buyer."""
    seen = await get_visible(session, who, Ticket, ticket_id)
    await session.execute(select(col(Order.id)).where(col(Order.id) == seen.order_id).with_for_update())
    ticket = (
        await session.execute(
            select(Ticket)
            .where(col(Ticket.id) == ticket_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if ticket.status == TicketStatus.VOIDED:
        earlier = await session.get(TicketVoid, ticket_id)
        if earlier is None:  # issue 13: voided by a transfer, which issued a ticket in its place
            raise TicketNotVoidable(
                "the ticket was transferred; void the ticket that replaced it",
                status_now="transferred",
                replaced_by=str(ticket.replaced_by_id),
            )
        return Voided(earlier, ticket, created=False)
    if ticket.status == TicketStatus.REFUNDED:
        raise TicketNotVoidable("the ticket was refunded", status_now=ticket.status)
    if ticket.status == TicketStatus.USED:
        raise TicketNotVoidable("the ticket was used at an event that has ended", status_now=ticket.status)
    refunds = await session.execute(
        select(col(Refund.ticket_ids)).where(
            col(Refund.order_id) == ticket.order_id, col(Refund.status).in_(REFUND_IN_FLIGHT)
        )
    )
    if any(str(ticket_id) in ids for (ids,) in refunds):
        raise RefundInProgress("the ticket is in a refund that is not settled yet")
    ticket.status = TicketStatus.VOIDED  # the state machine refuses anything but active/scanned → voided
    await move_seats(session, {ticket.ticket_type_id: 1}, sold=-1)  # issue 13: a waiting list gets it first
    void = TicketVoid(
        ticket_id=ticket_id,
        organization_id=ticket.organization_id,
        order_id=ticket.order_id,
        reason=reason,
        voided_by=who.user_id,
        voided_at=now,
    )
    session.add(void)
    await session.flush()
    return Voided(void, ticket, created=True)


async def void_order_tickets(
    session: AsyncSession, order_id: uuid.UUID, *, reason: str, voided_by: str, now: datetime
) -> list[TicketVoid]:
    """Void every live ticket of an order at once, as the system decides it (issue 13: a cancelled event's free
    orders, a buyer giving back a free order): refused at every gate from then on, seats back on sale in the same
    transaction. The caller tells the buyer once for the whole order (a cancellation message) and then marks the
    voids notified (``mark_notified``); should that message not start, the check-in sweep sends one per ticket.
    Returns the new voids (none when no ticket was live: a repeat is a no-op). ``RefundInProgress`` when a live
    ticket is in a refund not settled yet."""
    await session.execute(select(col(Order.id)).where(col(Order.id) == order_id).with_for_update())
    live = list(
        (
            await session.execute(
                select(Ticket)
                .where(col(Ticket.order_id) == order_id, col(Ticket.status).in_(LIVE_TO_VOID))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    refunds = await session.execute(
        select(col(Refund.ticket_ids)).where(col(Refund.order_id) == order_id, col(Refund.status).in_(REFUND_IN_FLIGHT))
    )
    in_refund = {t for (ids,) in refunds for t in ids}
    if any(str(t.id) in in_refund for t in live):
        raise RefundInProgress("a ticket of the order is in a refund that is not settled yet")
    voids = []
    for ticket in live:
        ticket.status = TicketStatus.VOIDED
        await move_seats(session, {ticket.ticket_type_id: 1}, sold=-1)  # issue 13: a waiting list gets it first
        voids.append(
            TicketVoid(
                ticket_id=ticket.id,
                organization_id=ticket.organization_id,
                order_id=order_id,
                reason=reason,
                voided_by=voided_by,
                voided_at=now,
            )
        )
    session.add_all(voids)
    await session.flush()
    return voids


async def mark_notified(session: AsyncSession, ticket_ids: list[uuid.UUID], now: datetime) -> None:
    """Record that the buyer of these voided tickets was told (by one message for their order): the check-in sweep
    then starts no message of its own for them."""
    await session.execute(
        update(TicketVoid)
        .where(col(TicketVoid.ticket_id).in_(ticket_ids), col(TicketVoid.notified_at).is_(None))
        .values(notified_at=now)
    )
