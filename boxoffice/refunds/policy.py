"""A buyer's own cancellation of a paid order (issue 13), under the event's refund policy.

The policy (set by the organiser on the event, see ``catalogue.rules.apply_refund_policy``): a buyer may cancel until
a moment, or until so many hours before the event starts; the refund is everything paid but a fee of a fixed part
plus basis points of the tickets' prices (at most those prices), which stays the organiser's revenue.

Guarantees (in the caller's transaction; a refused cancellation changes nothing):
- only the buyer's own order (404 otherwise), paid or fulfilled, of an event that is not cancelled (its own refunds
  run: ``event_cancelled``), with a policy (else ``order_not_cancellable``, as before policies) whose deadline has
  not passed (``cancellation_deadline_passed``, with the deadline);
- one cancellation per order: the refund id derives from the order, so a repeat answers the same refund;
- a paid order gets one refund of all its live tickets through the refund flow (``refunds.requests``); a free order's
  tickets are voided at once (their seats go back on sale), with nothing to refund.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import get_visible_order
from boxoffice.auth import Principal
from boxoffice.errors import Conflict
from boxoffice.gate.voids import void_order_tickets
from boxoffice.models import Event, Order, Refund, TicketVoid
from boxoffice.refunds.requests import REFUNDABLE_ORDERS, refund_whole_order

BUYER_CANCEL_NAMESPACE = uuid.UUID("2f8e6c1a-94b7-4d05-a3e2-7b1c9d4f6e58")
BUYER_CANCELLED = "buyer_cancelled"
# What the buyer of a free order is told (words, not a code: messages show them as they are), and its voids' reason.
FREE_ORDER_REASON = "You cancelled this order; its tickets are no longer valid."


class CancellationNotAllowed(Conflict):
    """No refund policy: a paid order stays as it is (the code a cancel of a paid order always answered)."""

    code, title = "order_not_cancellable", "This order cannot be cancelled by its buyer"


class DeadlinePassed(Conflict):
    code, title = "cancellation_deadline_passed", "The time to cancel has passed"


def buyer_refund_id(order_id: uuid.UUID) -> uuid.UUID:
    """The one refund a buyer's own cancellation of ``order_id`` can have."""
    return uuid.uuid5(BUYER_CANCEL_NAMESPACE, f"buyer-cancel:{order_id}")


def cancellation_deadline(event: Event) -> datetime | None:
    """Until when the event's buyers may cancel paid orders, or None when its policy does not let them."""
    if event.refund_cancel_until is not None:
        return event.refund_cancel_until
    if event.refund_cancel_hours_before_start is not None:
        return event.starts_at - timedelta(hours=event.refund_cancel_hours_before_start)
    return None


def cancellation_fee(event: Event, ticket_prices: int) -> int:
    """The fee a buyer's cancellation keeps of tickets costing ``ticket_prices`` in all: the fixed part plus the basis
    points (rounded down, in the buyer's favour), never more than the tickets' prices."""
    fee = event.refund_fee_fixed_cents + ticket_prices * event.refund_fee_bps // 10_000
    return max(0, min(fee, ticket_prices))


@dataclass
class BuyerCancellation:
    """What the cancellation did: a paid order's ``refund`` (to start, unless it is settled), or a free order's
    ``voids`` (whose buyer is then told once, by a cancellation message)."""

    order: Order
    refund: Refund | None = None
    voids: list[TicketVoid] = field(default_factory=list)


async def cancel_paid_order(
    session: AsyncSession, who: Principal, order_id: uuid.UUID, now: datetime
) -> BuyerCancellation:
    """The buyer's cancellation of their paid order (see the module's guarantees); the caller commits, then starts
    the refund's run (``refunds.client.start_refund``) or the free order's cancellation message."""
    order = await get_visible_order(session, who, order_id)
    if order.status not in REFUNDABLE_ORDERS:
        raise Conflict(f"the order is {order.status}", code="order_not_cancellable", status_now=order.status)
    refund_id = buyer_refund_id(order.id)
    if (existing := await session.get(Refund, refund_id)) is not None:
        return BuyerCancellation(order, refund=existing)  # a repeat: the same refund
    event = await session.get(Event, order.event_id)
    assert event is not None
    if event.cancelled_at is not None:
        raise Conflict("the event is cancelled: every paid order is refunded in full", code="event_cancelled")
    deadline = cancellation_deadline(event)
    if deadline is None:
        raise CancellationNotAllowed(
            "the organiser's refund policy does not let buyers cancel paid orders", status_now=order.status
        )
    if now >= deadline:
        raise DeadlinePassed(f"orders could be cancelled until {deadline.isoformat()}", deadline=deadline.isoformat())
    if order.total_amount == 0:
        voids = await void_order_tickets(session, order.id, reason=FREE_ORDER_REASON, voided_by=who.user_id, now=now)
        if not voids:
            raise Conflict("the order has no live tickets left", code="nothing_to_refund")
        return BuyerCancellation(order, voids=voids)
    refund = await refund_whole_order(
        session,
        order.id,
        refund_id=refund_id,
        kind=BUYER_CANCELLED,
        reason=BUYER_CANCELLED,
        requested_by=who.user_id,
        now=now,
        fee_kept=lambda tickets: cancellation_fee(event, tickets),
    )
    return BuyerCancellation(order, refund=refund)
