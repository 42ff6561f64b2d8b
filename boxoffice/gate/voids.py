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
from boxoffice.errors import Conflict
from boxoffice.models import Order, Refund, Ticket, TicketType, TicketVoid
from boxoffice.models.states import REFUND_IN_FLIGHT, TicketStatus


class TicketNotVoidable(Conflict):
    code, title = "ticket_not_voidable", "This ticket cannot be voided"


class RefundInProgress(Conflict):
    code, title = "refund_in_progress", "A refund is in progress"


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
        assert earlier is not None  # a ticket is voided only here, with its record
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
    await session.execute(
        update(TicketType).where(col(TicketType.id) == ticket.ticket_type_id).values(sold=col(TicketType.sold) - 1)
    )
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
