"""Ticket issuing: deterministic ids and codes (a retried step issues the same tickets), signed QR payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.models import Attendee, Event, Order, OrderLine, Ticket
from boxoffice.models.states import TicketStatus
from boxoffice.ticketing.tokens import decode_payload, validity_end

TICKET_NAMESPACE = uuid.UUID("5b0c3f0e-7d4a-4c1e-9a53-2f0d1b9e6a10")


class TicketIssuer(Protocol):
    """What issuing needs from the ticketing keys: a code and a signed payload for a ticket id."""

    def code_for(self, ticket_id: uuid.UUID) -> str: ...

    def payload_for(
        self,
        ticket_id: uuid.UUID,
        event_id: uuid.UUID,
        organization_id: str,
        valid_until: datetime,
        issued_at: datetime,
    ) -> str: ...


def ticket_id_for(line_id: uuid.UUID, index: int) -> uuid.UUID:
    return uuid.uuid5(TICKET_NAMESPACE, f"{line_id}:{index}")


async def issue_tickets(
    session: AsyncSession,
    order: Order,
    lines: list[OrderLine],
    event: Event,
    issuer: TicketIssuer,
    now: datetime,
    *,
    check_existing: bool = True,
) -> list[Ticket]:
    """Create one ticket (and its attendee) per seat of each line, unless (``check_existing``) they exist already."""
    if check_existing:
        existing = (await session.execute(select(Ticket).where(col(Ticket.order_id) == order.id))).scalars().all()
        if existing:
            return list(existing)
    people = list(order.attendees) or []
    tickets: list[Ticket] = []
    valid_until = validity_end(event.ends_at)
    seat = 0
    for line in sorted(lines, key=lambda ln: ln.position):
        for i in range(line.quantity):
            person = people[seat] if seat < len(people) else {"name": order.buyer_name, "email": order.buyer_email}
            seat += 1
            attendee = Attendee(order_id=order.id, name=person["name"], email=person["email"])
            session.add(attendee)
            tid = ticket_id_for(line.id, i)
            payload = issuer.payload_for(tid, event.id, order.organization_id, valid_until, now)
            tickets.append(
                Ticket(
                    id=tid,
                    order_id=order.id,
                    order_line_id=line.id,
                    index_in_line=i,
                    ticket_type_id=line.ticket_type_id,
                    event_id=event.id,
                    organization_id=order.organization_id,
                    user_id=order.user_id,
                    attendee_id=attendee.id,
                    ticket_code=issuer.code_for(tid),
                    qr_payload=payload,
                    status=TicketStatus.ACTIVE,
                    price_cents=line.unit_price_cents,
                    # The gate (issue 9): which key signed it and until when, for keys.json and the gate bundles.
                    signing_kid=decode_payload(payload).kid,
                    valid_until=valid_until,
                )
            )
    session.add_all(tickets)
    await session.flush()
    return tickets
