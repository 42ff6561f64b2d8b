"""An edit of an event, followed to its tickets (issue 13): payloads re-signed with the new validity, and the orders
whose buyers are told.

Guarantees:
- ``reissue_tickets`` re-signs each live ticket whose stored validity is not the event's (its end plus seven days):
  same ticket id and code, a new payload carrying the new ``valid_until`` (and the active key), stored with it in one
  transaction per batch. A ticket already carrying the validity is left alone, so a repeat (a retried step, a run
  for an older edit) re-signs nothing twice, and every batch brings the event closer to done;
- ``orders_to_tell`` lists nothing once the edit is superseded by a later one (whose run tells the buyers what is
  true then) or the event is cancelled (its buyers get the cancellation instead).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, exists, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.checkout.issuing import TicketIssuer
from boxoffice.gate.voids import LIVE_TO_VOID
from boxoffice.models import Event, Order, Ticket
from boxoffice.models.states import OrderStatus
from boxoffice.models.types import UTCDateTime
from boxoffice.ticketing.tokens import decode_payload, validity_end

_T = Ticket.__table__  # type: ignore[attr-defined]
_REISSUE = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        qr_payload=bindparam("b_payload"),
        signing_kid=bindparam("b_kid"),
        valid_until=bindparam("b_valid_until", type_=UTCDateTime()),
    )
)


async def reissue_tickets(
    session: AsyncSession, event_id: uuid.UUID, issuer: TicketIssuer, *, now: datetime, limit: int
) -> int:
    """Re-sign up to ``limit`` live tickets of the event whose validity is not the event's (see the module's
    guarantees); returns how many. Call until it returns fewer than ``limit``."""
    event = await session.get(Event, event_id)
    if event is None:
        return 0
    valid_until = validity_end(event.ends_at)
    rows = await session.execute(
        select(col(Ticket.id))
        .where(
            col(Ticket.event_id) == event_id,
            col(Ticket.status).in_(LIVE_TO_VOID),
            (col(Ticket.valid_until).is_(None)) | (col(Ticket.valid_until) != valid_until),
        )
        .order_by(col(Ticket.id))
        .limit(limit)
    )
    params = []
    for ticket_id in rows.scalars():
        payload = issuer.payload_for(ticket_id, event.id, event.organization_id, valid_until, now)
        params.append(
            {
                "b_id": ticket_id,
                "b_payload": payload,
                "b_kid": decode_payload(payload).kid,
                "b_valid_until": valid_until,
            }
        )
    if params:
        await session.execute(_REISSUE, params)
    return len(params)


async def orders_to_tell(
    session: AsyncSession, event_id: uuid.UUID, revision: int, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The event's next sold orders with a live ticket (by id, after ``after``), or none when ``revision`` is no
    longer the event's latest or the event is cancelled."""
    event = await session.get(Event, event_id)
    if event is None or event.revision != revision or event.cancelled_at is not None:
        return []
    live = exists().where(col(Ticket.order_id) == col(Order.id), col(Ticket.status).in_(LIVE_TO_VOID))
    stmt = select(col(Order.id)).where(
        col(Order.event_id) == event_id,
        col(Order.status).in_((OrderStatus.PAID.value, OrderStatus.FULFILLED.value)),
        live,
    )
    if after is not None:
        stmt = stmt.where(col(Order.id) > after)
    return list((await session.execute(stmt.order_by(col(Order.id)).limit(limit))).scalars())
