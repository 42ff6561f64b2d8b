"""An event's cancellation on the database side: stopping sales, the orders it still has to settle, each one settled
once, and the tally its run reports (issue 13).

Guarantees:
- ``cancel_event`` stops sales in the caller's transaction: from its commit the hold statement refuses every new hold
  (``catalogue.rules.sales_refusal``, ``event_cancelled``); cancelling again is a no-op answering the first;
- an order is in ``orders_to_handle`` while it is sold and keeps something to give back (money not refunded, or a
  live ticket) and has no event-cancellation refund: recording that refund (or voiding a free order's tickets) takes
  it out, so a page read again after a crash never holds an order already settled;
- ``settle_order`` records at most one refund per order (its id derives from the order) and voids a free order's
  live tickets; both are repeats-safe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, exists, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.errors import Conflict, NotFound, RefundInProgress
from boxoffice.events.contract import Tally
from boxoffice.gate.voids import LIVE_TO_VOID, void_order_tickets
from boxoffice.inventory.holds import end_holds
from boxoffice.models import Event, Hold, Order, Refund, Ticket, TicketVoid, Transaction
from boxoffice.models.states import REFUND_IN_FLIGHT, HoldStatus, OrderStatus, RefundStatus, TransactionStatus
from boxoffice.refunds import requests

EVENT_CANCELLED = "event_cancelled"  # the refunds' kind, and the cancellation message's reason code
VOIDED_BY = "event-cancellation"  # who voided a cancelled event's free tickets
_REFUND_NAMESPACE = uuid.UUID("9d3b5e71-2c4a-4f8b-b6d0-1e7a3c5f9b24")
SOLD = (OrderStatus.PAID.value, OrderStatus.FULFILLED.value)


def cancellation_refund_id(order_id: uuid.UUID) -> uuid.UUID:
    """The one refund an event's cancellation gives ``order_id``: a resumed run finds it instead of making another."""
    return uuid.uuid5(_REFUND_NAMESPACE, f"event-cancelled:{order_id}")


async def cancel_event(
    session: AsyncSession, org_id: str, event_id: uuid.UUID, *, reason: str | None, by: str, now: datetime
) -> Event:
    """Stop the organisation's event's sales for good (see the module's guarantees); ``event_ended`` (409) when it
    is over. The caller commits, then starts the cancellation's run."""
    event = (
        await session.execute(select(Event).where(col(Event.id) == event_id).with_for_update())
    ).scalar_one_or_none()
    if event is None or event.organization_id != org_id:
        raise NotFound("event not found", code="event_not_found")
    if event.cancelled_at is not None:
        return event
    if now >= event.ends_at:
        raise Conflict("the event has ended: it can no longer be cancelled", code="event_ended")
    event.cancelled_at, event.cancelled_by, event.cancellation_reason = now, by, reason
    await session.flush()
    return event


def message_reason(event: Event) -> str:
    """The cancellation message's reason: ``event_cancelled``, with the organiser's words when they gave some."""
    words = (event.cancellation_reason or "").strip()
    return f"{EVENT_CANCELLED}: {words}" if words else EVENT_CANCELLED


# --- what is left to settle --------------------------------------------------------------------------------------


def _live_ticket(order_id: Any) -> Exists:
    return exists().where(col(Ticket.order_id) == order_id, col(Ticket.status).in_(LIVE_TO_VOID))


def _unhandled(event_id: uuid.UUID) -> list[ColumnElement[bool]]:
    """The conditions of an order the cancellation has still to settle."""
    money_left = exists().where(
        col(Transaction.order_id) == col(Order.id),
        col(Transaction.status) == TransactionStatus.SUCCEEDED.value,
        col(Transaction.refunded_amount) < func.coalesce(col(Transaction.captured_amount), col(Transaction.amount)),
    )
    refunded = exists().where(col(Refund.order_id) == col(Order.id), col(Refund.kind) == EVENT_CANCELLED)
    return [
        col(Order.event_id) == event_id,
        col(Order.status).in_(SOLD),
        ~refunded,
        or_(and_(col(Order.total_amount) > 0, money_left), _live_ticket(col(Order.id))),
    ]


async def orders_to_handle(
    session: AsyncSession, event_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The event's next orders (by id, after ``after``) that its cancellation still has to settle."""
    stmt = select(col(Order.id)).where(*_unhandled(event_id))
    if after is not None:
        stmt = stmt.where(col(Order.id) > after)
    return list((await session.execute(stmt.order_by(col(Order.id)).limit(limit))).scalars())


async def pending_orders(session: AsyncSession, event_id: uuid.UUID) -> list[uuid.UUID]:
    """The event's checkouts still waiting (orders ``pending``)."""
    rows = await session.execute(
        select(col(Order.id)).where(col(Order.event_id) == event_id, col(Order.status) == OrderStatus.PENDING.value)
    )
    return list(rows.scalars())


async def release_unclaimed_holds(session: AsyncSession, event_id: uuid.UUID, now: datetime) -> int:
    """Give back the seats of the event's holds no checkout has claimed (no checkout can start from them now)."""
    ended = await end_holds(
        session, [col(Hold.event_id) == event_id, col(Hold.order_id).is_(None)], HoldStatus.RELEASED, now
    )
    return len(ended)


async def tally(session: AsyncSession, event_id: uuid.UUID) -> Tally:
    """The cancellation's refunds by state, its voided free orders and the orders still to handle (one snapshot:
    call it on a session that ``Database.snapshot`` prepared)."""
    rows = await session.execute(
        select(col(Refund.status), func.count())
        .join(Order, col(Order.id) == col(Refund.order_id))
        .where(col(Order.event_id) == event_id, col(Refund.kind) == EVENT_CANCELLED)
        .group_by(col(Refund.status))
    )
    by_status = {status: int(n) for status, n in rows.all()}
    voided = await session.execute(
        select(func.count(func.distinct(col(TicketVoid.order_id))))
        .join(Order, col(Order.id) == col(TicketVoid.order_id))
        .where(col(Order.event_id) == event_id, col(TicketVoid.voided_by) == VOIDED_BY)
    )
    unhandled = await session.execute(select(func.count()).select_from(Order).where(*_unhandled(event_id)))
    return Tally(
        refunds=sum(by_status.values()),
        refunded=by_status.get(RefundStatus.SUCCEEDED.value, 0),
        failed=by_status.get(RefundStatus.FAILED.value, 0),
        in_flight=sum(n for s, n in by_status.items() if s in REFUND_IN_FLIGHT),
        voided_orders=int(voided.scalar_one()),
        unhandled=int(unhandled.scalar_one()),
    )


async def voided_tickets(session: AsyncSession, order_id: uuid.UUID) -> list[uuid.UUID]:
    """The order's tickets the cancellation voided."""
    rows = await session.execute(
        select(col(TicketVoid.ticket_id)).where(
            col(TicketVoid.order_id) == order_id, col(TicketVoid.voided_by) == VOIDED_BY
        )
    )
    return list(rows.scalars())


# --- one order ---------------------------------------------------------------------------------------------------


@dataclass
class Settled:
    """What ``settle_order`` did to one order: ``outcome`` (``refund_started``/``refund_settled``: its refund,
    ``voided``: its tickets, ``deferred``: another refund of it is in flight, ``nothing_left``)."""

    outcome: str
    refund: Refund | None = None
    voided: list[uuid.UUID] = field(default_factory=list)


async def settle_order(session: AsyncSession, order_id: uuid.UUID, event: Event, now: datetime) -> Settled:
    """Record the cancellation's refund of everything the order has left (a paid order), or void its live tickets
    (a free order, or one with nothing left to refund), in the caller's transaction."""
    refund_id = cancellation_refund_id(order_id)
    order = await session.get(Order, order_id)
    assert order is not None and order.event_id == event.id
    if order.total_amount > 0:
        try:
            refund = await requests.refund_whole_order(
                session,
                order_id,
                refund_id=refund_id,
                kind=EVENT_CANCELLED,
                reason=message_reason(event)[:500],
                requested_by=VOIDED_BY,
                now=now,
            )
        except RefundInProgress:
            return Settled("deferred")
        except Conflict as exc:
            if exc.code not in ("nothing_to_refund", "order_not_refundable"):
                raise
        else:
            settled = refund.status == RefundStatus.SUCCEEDED
            return Settled("refund_settled" if settled else "refund_started", refund=refund)
    try:
        voids = await void_order_tickets(session, order_id, reason=message_reason(event), voided_by=VOIDED_BY, now=now)
    except RefundInProgress:
        return Settled("deferred")
    return Settled("voided" if voids else "nothing_left", voided=[v.ticket_id for v in voids])
