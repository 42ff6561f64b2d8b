"""A ticket given to another person: the old ticket revoked and a new one issued to the new attendee, at once.

Guarantees (in the caller's transaction; a refused transfer changes nothing):
- who: the buyer of the order, for their own ticket, until the event starts; an admin of the organisation until
  it ends. Anyone else gets ``404 ticket_not_found`` (never a hint the ticket exists); too late is
  ``409 transfer_closed``;
- what: a ticket never admitted (``active``); any other is ``409 ticket_not_transferable`` (scanned, used,
  voided, refunded), and one in a refund still in flight ``409 refund_in_progress``. The order row is locked first,
  as voids and refund requests lock it, so a transfer never interleaves with them;
- the old ticket becomes ``voided`` and points at its replacement (``replaced_by_id``): every gate refuses it as
  ``revoked`` (online, and offline through the gate bundle's revoked ids) and its QR answers 410. The new ticket
  keeps the old one's order, line, type and price, and gets a new id, code and payload signed by the ring's active
  key, for a new attendee;
- the seat stays sold and the money untouched: ``sold`` counts live tickets (one revoked, one issued, in the same
  transaction), no journal is posted, the order keeps its status and totals;
- the new ticket's id derives from the old one's, so a repeat finds it: repeating a transfer to the same person
  answers the first one (``created`` False); to someone else it is ``409 ticket_not_transferable``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import get_visible
from boxoffice.auth import Principal, Role
from boxoffice.errors import Conflict, RefundInProgress
from boxoffice.models import Attendee, Event, Order, Refund, Ticket, TicketTransfer
from boxoffice.models.states import REFUND_IN_FLIGHT, TicketStatus
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.tokens import decode_payload, validity_end

_NAMESPACE = uuid.UUID("9d3c41e7-6b0a-4f25-8e7d-3a1f5c2b8e60")


class TicketNotTransferable(Conflict):
    code, title = "ticket_not_transferable", "This ticket cannot be transferred"


class TransferClosed(Conflict):
    code, title = "transfer_closed", "Transfers are closed for this event"


@dataclass(frozen=True)
class Transferred:
    """The transfer, the new ticket and its attendee; ``created`` False when it had been made before."""

    transfer: TicketTransfer
    ticket: Ticket
    attendee: Attendee
    created: bool


def transfer_ids(ticket_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """(the transfer's id, the new ticket's id) for a transfer of ``ticket_id``: one of each per ticket."""
    return uuid.uuid5(_NAMESPACE, f"transfer:{ticket_id}"), uuid.uuid5(_NAMESPACE, f"ticket:{ticket_id}")


async def transfer_ticket(
    session: AsyncSession,
    who: Principal,
    ticket_id: uuid.UUID,
    *,
    name: str,
    email: str,
    issuer: KeyedTicketIssuer,
    now: datetime,
) -> Transferred:
    """Give the ticket to ``name`` <``email``> (see the module's guarantees); the caller commits, then tells both
    parties (``transfers.client.notify_transfer``)."""
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
    if ticket.replaced_by_id is not None:
        return await _earlier(session, ticket, name=name, email=email)
    event = await session.get(Event, ticket.event_id)
    assert event is not None
    closes = event.ends_at if who.role is Role.ORG_ADMIN else event.starts_at
    if now >= closes:
        until = "it ends" if who.role is Role.ORG_ADMIN else "it starts"
        raise TransferClosed(f"tickets of this event can be transferred until {until}", closed_at=closes.isoformat())
    if ticket.status != TicketStatus.ACTIVE:
        raise TicketNotTransferable(f"the ticket is {ticket.status}", status_now=ticket.status)
    refunds = await session.execute(
        select(col(Refund.ticket_ids)).where(
            col(Refund.order_id) == ticket.order_id, col(Refund.status).in_(REFUND_IN_FLIGHT)
        )
    )
    if any(str(ticket_id) in ids for (ids,) in refunds):
        raise RefundInProgress("the ticket is in a refund that is not settled yet")

    transfer_id, new_id = transfer_ids(ticket_id)
    attendee = Attendee(order_id=ticket.order_id, name=name, email=email)
    session.add(attendee)
    last = select(func.max(col(Ticket.index_in_line))).where(col(Ticket.order_line_id) == ticket.order_line_id)
    valid_until = validity_end(event.ends_at)
    payload = issuer.payload_for(new_id, event.id, ticket.organization_id, valid_until, now)
    new = Ticket(
        id=new_id,
        order_id=ticket.order_id,
        order_line_id=ticket.order_line_id,
        index_in_line=int((await session.execute(last)).scalar_one()) + 1,
        ticket_type_id=ticket.ticket_type_id,
        event_id=ticket.event_id,
        organization_id=ticket.organization_id,
        user_id=ticket.user_id,  # the order's buyer still sees (and may refund) every ticket of the order
        attendee_id=attendee.id,
        ticket_code=issuer.code_for(new_id),
        qr_payload=payload,
        status=TicketStatus.ACTIVE,
        price_cents=ticket.price_cents,
        seat_id=ticket.seat_id,
        created_at=now,
        signing_kid=decode_payload(payload).kid,
        valid_until=valid_until,
    )
    session.add(new)
    await session.flush()  # the new ticket exists before the old one and the transfer point at it
    ticket.status = TicketStatus.VOIDED  # the state machine allows active → voided only
    ticket.replaced_by_id = new.id
    transfer = TicketTransfer(
        id=transfer_id,
        organization_id=ticket.organization_id,
        order_id=ticket.order_id,
        from_ticket_id=ticket.id,
        to_ticket_id=new.id,
        to_attendee_id=attendee.id,
        transferred_by=who.user_id,
        role=who.role.value,
        created_at=now,
    )
    session.add(transfer)
    await session.flush()
    return Transferred(transfer, new, attendee, created=True)


async def _earlier(session: AsyncSession, ticket: Ticket, *, name: str, email: str) -> Transferred:
    """A ticket transferred before: the same transfer again answers it; another is refused."""
    transfer = (
        await session.execute(select(TicketTransfer).where(col(TicketTransfer.from_ticket_id) == ticket.id))
    ).scalar_one()
    new = await session.get(Ticket, transfer.to_ticket_id)
    attendee = await session.get(Attendee, transfer.to_attendee_id)
    assert new is not None and attendee is not None
    if (attendee.name, attendee.email.lower()) != (name, email.lower()):
        raise TicketNotTransferable(
            "the ticket was transferred to someone else; transfer the ticket that replaced it",
            status_now="transferred",
            replaced_by=str(new.id),
        )
    return Transferred(transfer, new, attendee, created=False)
