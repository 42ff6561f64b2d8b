"""An organiser's refund request: validated against the order, its tickets and the money captured, then recorded.

Guarantees (in the caller's transaction; a refused request changes nothing):
- the order is visible to the admin's organisation (404 otherwise) and paid or fulfilled;
- every chosen ticket belongs to the order and is live; all live tickets when none are chosen;
- the amount is the tickets' prices, or, when the refund covers every ticket not yet refunded, everything
  captured that was not refunded before (fee and tip included); it never exceeds captured − refunded;
- an order has at most one refund in flight (requested, pending, or failed and being retried): the order row
  is locked while this is checked, so two concurrent requests cannot both pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import get_visible_order
from boxoffice.auth import Principal
from boxoffice.errors import Conflict, RefundInProgress, ValidationFailed
from boxoffice.models import Order, Refund, Ticket, Transaction
from boxoffice.models.states import REFUND_IN_FLIGHT, OrderStatus, RefundStatus, TicketStatus, TransactionStatus
from boxoffice.refunds.settlement import count_refund

IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c3e2a-7d41-4f8e-9a63-2c1e8d7f4b90")
REFUNDABLE_ORDERS = {OrderStatus.PAID, OrderStatus.FULFILLED}
REFUNDABLE_TICKETS = {TicketStatus.ACTIVE, TicketStatus.SCANNED}


def refund_id_for(order_id: uuid.UUID, idempotency_key: str | None) -> uuid.UUID:
    """With an Idempotency-Key the refund id is derived from it, so a repeated request finds the first refund."""
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{order_id}\x00{idempotency_key}")


async def in_flight_refund(session: AsyncSession, order_id: uuid.UUID) -> Refund | None:
    """The order's refund that is not settled yet, if any."""
    return (
        await session.execute(
            select(Refund).where(col(Refund.order_id) == order_id, col(Refund.status).in_(REFUND_IN_FLIGHT))
        )
    ).scalar_one_or_none()


async def list_refunds(session: AsyncSession, who: Principal, order_id: uuid.UUID) -> list[Refund]:
    """The order's refunds, oldest first (404 when the order is not visible)."""
    await get_visible_order(session, who, order_id)
    rows = await session.execute(
        select(Refund).where(col(Refund.order_id) == order_id).order_by(col(Refund.created_at))
    )
    return list(rows.scalars())


async def _refundable(
    session: AsyncSession, order_id: uuid.UUID, refund_id: uuid.UUID
) -> Refund | tuple[Order, Transaction]:
    """The order (locked) and its paid transaction, when a new refund ``refund_id`` may be recorded; the refund
    itself when it was recorded before (a repeat). ``Conflict`` (``order_not_refundable``, ``nothing_to_refund``) or
    ``RefundInProgress`` otherwise."""
    order = (await session.execute(select(Order).where(col(Order.id) == order_id).with_for_update())).scalar_one()
    existing = await session.get(Refund, refund_id)
    if existing is not None and existing.order_id == order.id:
        return existing
    if order.status not in REFUNDABLE_ORDERS:
        raise Conflict(f"the order is {order.status}", code="order_not_refundable", order_status=order.status)
    txn = (await session.execute(select(Transaction).where(Transaction.order_id == order.id))).scalar_one_or_none()
    if txn is None or txn.status != TransactionStatus.SUCCEEDED:
        raise Conflict("nothing was paid for this order", code="nothing_to_refund")
    if (busy := await in_flight_refund(session, order.id)) is not None:
        raise RefundInProgress(
            f"refund {busy.id} of this order is still {busy.status}; request the next one when it is settled",
            refund_id=str(busy.id),
        )
    return order, txn


async def request_refund(
    session: AsyncSession,
    who: Principal,
    order_id: uuid.UUID,
    *,
    ticket_ids: Sequence[str] | None,
    reason: str | None,
    refund_id: uuid.UUID,
    now: datetime,
) -> Refund:
    """Validate and record a requested refund (status ``requested``); returns the existing refund for a repeat
    of the same ``refund_id``. Raises ``NotFound``, ``ValidationFailed``, ``Conflict`` or ``RefundInProgress``."""
    await get_visible_order(session, who, order_id)
    locked = await _refundable(session, order_id, refund_id)
    if isinstance(locked, Refund):
        return locked
    order, txn = locked
    tickets = list((await session.execute(select(Ticket).where(col(Ticket.order_id) == order.id))).scalars())
    chosen = _choose(tickets, ticket_ids)
    captured = txn.captured_amount if txn.captured_amount is not None else txn.amount
    left = captured - txn.refunded_amount
    unrefunded = {t.id for t in tickets if t.status != TicketStatus.REFUNDED}
    covers_all = {t.id for t in chosen} == unrefunded
    amount = left if covers_all else sum(t.price_cents for t in chosen)
    if amount > left:
        raise ValidationFailed(
            f"refunding {amount} would exceed the {left} {txn.currency} left of the payment",
            code="refund_exceeds_payment",
            amount=amount,
            refundable=left,
        )
    if amount <= 0:
        raise Conflict("the chosen tickets cost nothing: there is no money to return", code="nothing_to_refund")
    refund = Refund(
        id=refund_id,
        order_id=order.id,
        transaction_id=txn.id,
        organization_id=order.organization_id,
        amount=amount,
        currency=txn.currency,
        kind="requested",
        reason=reason,
        ticket_ids=sorted(str(t.id) for t in chosen),
        requested_by=who.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    count_refund(session, refund.kind, RefundStatus.REQUESTED)
    return refund


def _choose(tickets: list[Ticket], ticket_ids: Sequence[str] | None) -> list[Ticket]:
    """The tickets to refund: all live ones when none are named, else the named ones, each checked."""
    if ticket_ids is None:
        chosen = [t for t in tickets if t.status in REFUNDABLE_TICKETS]
        if not chosen:
            raise Conflict("the order has no live tickets left to refund", code="nothing_to_refund")
        return chosen
    if not ticket_ids:
        raise ValidationFailed("ticket_ids must not be empty (leave it out to refund every ticket)")
    try:
        wanted = [uuid.UUID(str(t)) for t in ticket_ids]
    except ValueError:
        raise ValidationFailed("ticket_ids must be ticket ids", code="validation_error") from None
    if len(set(wanted)) != len(wanted):
        raise ValidationFailed("ticket_ids lists a ticket twice", code="validation_error")
    by_id = {t.id: t for t in tickets}
    chosen = []
    for tid in wanted:
        ticket = by_id.get(tid)
        if ticket is None:
            raise ValidationFailed(f"ticket {tid} is not in this order", code="ticket_not_in_order", ticket_id=str(tid))
        if ticket.status == TicketStatus.REFUNDED:
            raise Conflict(f"ticket {tid} is already refunded", code="ticket_already_refunded", ticket_id=str(tid))
        if ticket.status not in REFUNDABLE_TICKETS:
            raise Conflict(
                f"ticket {tid} is {ticket.status} and cannot be refunded",
                code="ticket_not_refundable",
                ticket_id=str(tid),
            )
        chosen.append(ticket)
    return chosen


async def refund_whole_order(
    session: AsyncSession,
    order_id: uuid.UUID,
    *,
    refund_id: uuid.UUID,
    kind: str,
    reason: str | None,
    requested_by: str | None,
    now: datetime,
    fee_kept: Callable[[int], int] = lambda _tickets: 0,
) -> Refund:
    """Record a refund of everything the order has left (issue 13: an event cancelled, a buyer's own cancellation),
    as the system asks it: no visibility check, the caller decided. Every live ticket is refunded, with all the
    money captured and not refunded before, less ``fee_kept(the live tickets' prices)`` (at most those prices),
    which stays with the organiser. Returns the existing refund for a repeat of ``refund_id`` (derive it from the
    order: a retried step never records two). Raises ``Conflict`` (``order_not_refundable``, ``nothing_to_refund``)
    or ``RefundInProgress`` (another refund of the order is not settled yet), changing nothing."""
    locked = await _refundable(session, order_id, refund_id)
    if isinstance(locked, Refund):
        return locked
    order, txn = locked
    tickets = (await session.execute(select(Ticket).where(col(Ticket.order_id) == order.id))).scalars()
    live = [t for t in tickets if t.status in REFUNDABLE_TICKETS]
    ticket_part = sum(t.price_cents for t in live)
    kept = max(0, min(fee_kept(ticket_part), ticket_part))
    captured = txn.captured_amount if txn.captured_amount is not None else txn.amount
    amount = captured - txn.refunded_amount - kept
    if amount <= 0:
        raise Conflict("nothing is left to refund on this order", code="nothing_to_refund", fee_kept=kept)
    refund = Refund(
        id=refund_id,
        order_id=order.id,
        transaction_id=txn.id,
        organization_id=order.organization_id,
        amount=amount,
        currency=txn.currency,
        kind=kind,
        reason=reason,
        ticket_ids=sorted(str(t.id) for t in live),
        requested_by=requested_by,
        fee_kept_cents=kept,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    count_refund(session, refund.kind, RefundStatus.REQUESTED)
    return refund
