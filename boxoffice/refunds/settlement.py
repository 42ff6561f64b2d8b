"""Refund records and their settlement: transaction, order, tickets, inventory and ledger move together."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.books import ledger
from boxoffice.errors import NotFound
from boxoffice.inventory.holds import move_seats
from boxoffice.models import Order, Refund, Ticket, Transaction, WebhookEvent
from boxoffice.models.states import (
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    TicketStatus,
    TransactionStatus,
)
from boxoffice.payments.base import EventKind, RefundRequest, RefundState
from boxoffice.vouchers import redemption


async def refund_request(session: AsyncSession, refund_id: str) -> RefundRequest:
    refund = await session.get(Refund, uuid.UUID(refund_id))
    if refund is None:
        raise NotFound("refund not found", code="refund_not_found")
    txn = await session.get(Transaction, refund.transaction_id)
    assert txn is not None
    return RefundRequest(
        refund_id=str(refund.id),
        reference=txn.reference,
        provider_reference=txn.provider_reference or txn.reference,
        provider_transaction_id=txn.provider_transaction_id,
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
        idempotency_key=f"refund-{refund.id}-{refund.provider_failures}",
    )


async def recorded_refund_outcome(session: AsyncSession, provider: str, provider_refund_id: str) -> RefundState | None:
    """The outcome of the provider's refund ``provider_refund_id`` as its latest signed webhook recorded in the inbox
    says (succeeded or failed), or None when no such event has arrived."""
    row = (
        await session.execute(
            select(col(WebhookEvent.kind))
            .where(
                col(WebhookEvent.provider) == provider,
                col(WebhookEvent.provider_refund_id) == provider_refund_id,
                col(WebhookEvent.kind).in_([EventKind.REFUND_SUCCEEDED.value, EventKind.REFUND_FAILED.value]),
            )
            .order_by(col(WebhookEvent.received_at).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return RefundState.SUCCEEDED if row[0] == EventKind.REFUND_SUCCEEDED.value else RefundState.FAILED


async def mark_refund_pending(
    session: AsyncSession, refund_id: str, provider_refund_id: str | None, now: datetime
) -> None:
    refund = await session.get(Refund, uuid.UUID(refund_id), with_for_update=True)
    assert refund is not None
    if refund.status in (RefundStatus.REQUESTED, RefundStatus.FAILED):
        refund.status = RefundStatus.PENDING
        count_refund(session, refund.kind, RefundStatus.PENDING)
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    refund.updated_at = now


async def mark_refund_failed(session: AsyncSession, refund_id: str, error: str, now: datetime) -> None:
    refund = await session.get(Refund, uuid.UUID(refund_id), with_for_update=True)
    assert refund is not None
    if refund.status != RefundStatus.SUCCEEDED:
        if refund.status != RefundStatus.FAILED:
            count_refund(session, refund.kind, RefundStatus.FAILED)
        refund.status = RefundStatus.FAILED
        refund.failure_reason = error[:500]
        refund.provider_failures += 1
        refund.updated_at = now


def count_refund(session: AsyncSession, kind: str, state: str) -> None:
    """Issue 11: a refund reached ``state`` (requested, pending, succeeded, failed), counted once that commits."""
    metrics.on_commit(session, metrics.REFUNDS.labels(metrics.code(kind), metrics.code(str(state))).inc)


async def settle_refund(session: AsyncSession, refund_id: str, provider_refund_id: str | None, now: datetime) -> Refund:
    """Apply a provider-confirmed refund once: transaction, order, tickets, inventory and a reversing journal."""
    refund = await session.get(Refund, uuid.UUID(refund_id), with_for_update=True)
    if refund is None:
        raise NotFound("refund not found", code="refund_not_found")
    if refund.status == RefundStatus.SUCCEEDED:
        return refund
    txn = await session.get(Transaction, refund.transaction_id, with_for_update=True)
    order = await session.get(Order, refund.order_id, with_for_update=True)
    assert txn is not None and order is not None
    refund.status = RefundStatus.SUCCEEDED
    count_refund(session, refund.kind, RefundStatus.SUCCEEDED)
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    refund.updated_at = now
    txn.refunded_amount += refund.amount
    captured = txn.captured_amount if txn.captured_amount is not None else txn.amount
    fully = txn.refunded_amount >= captured
    if fully:
        txn.status = TransactionStatus.REFUNDED
    txn.updated_at = now

    if refund.kind == "automatic":
        order.payment_status = PaymentStatus.REFUNDED
        postings = [
            ledger.Posting(ledger.UNALLOCATED, refund.amount),
            ledger.Posting(ledger.clearing(txn.provider), -refund.amount),
        ]
    else:
        postings = await _settle_requested(session, refund, order, txn, fully, now)
    await ledger.post_journal(
        session,
        key=f"refund:{refund.id}",
        organization_id=refund.organization_id,
        kind="refund",
        currency=refund.currency,
        event_id=order.event_id,
        order_id=order.id,
        postings=postings,
        memo=refund.reason,
    )
    order.updated_at = now
    await session.flush()
    return refund


async def _settle_requested(
    session: AsyncSession, refund: Refund, order: Order, txn: Transaction, fully: bool, now: datetime
) -> list[ledger.Posting]:
    """An organiser's refund of some or all tickets: tickets refunded, seats back on sale, revenue reversed."""
    ids = [uuid.UUID(t) for t in refund.ticket_ids]
    tickets = list((await session.execute(select(Ticket).where(col(Ticket.id).in_(ids)))).scalars())
    per_type: dict[uuid.UUID, int] = {}
    per_line: dict[uuid.UUID, int] = {}
    ticket_part = 0
    for t in tickets:
        if t.status != TicketStatus.REFUNDED:
            t.status = TicketStatus.REFUNDED
            per_type[t.ticket_type_id] = per_type.get(t.ticket_type_id, 0) + 1
            per_line[t.order_line_id] = per_line.get(t.order_line_id, 0) + 1
            ticket_part += t.price_cents
    # Issue 13: a refunded ticket gives its voucher's use back, as pretix does for a cancelled position (vouchers
    # are locked before ticket types, as on every path).
    reserved = await redemption.give_back(session, await redemption.line_uses(session, per_line))
    await move_seats(session, per_type, sold=-1, reserved=reserved)
    remaining = (
        await session.execute(
            select(col(Ticket.id)).where(col(Ticket.order_id) == order.id, col(Ticket.status) != TicketStatus.REFUNDED)
        )
    ).first()
    kept = refund.fee_kept_cents
    if remaining is None and not fully and kept:
        # A buyer's own cancellation (issue 13): every ticket refunded, but the fee it kept stays paid.
        order.payment_status = PaymentStatus.PARTIALLY_REFUNDED
    elif remaining is None or fully:
        order.status = OrderStatus.REFUNDED
        order.payment_status = PaymentStatus.REFUNDED
    else:
        order.payment_status = PaymentStatus.PARTIALLY_REFUNDED
    # The refunded amount is the tickets' prices (less a cancellation fee kept, which stays the organiser's) plus,
    # on a full refund or a cancellation, the fee and tip; a full refund also returns the fees kept before. Anything
    # else (a rounding remainder) comes back out of the fee.
    organizer = ticket_part - kept + (await _kept_before(session, order.id) if fully else 0)
    rest = refund.amount - organizer
    tip = min(order.tip_cents, max(rest, 0)) if fully or kept else 0
    fee = rest - tip
    return [
        ledger.Posting(ledger.ORGANIZER_PAYABLE, organizer),
        ledger.Posting(ledger.PLATFORM_FEES, fee),
        ledger.Posting(ledger.TIPS_PAYABLE, tip),
        ledger.Posting(ledger.clearing(txn.provider), -refund.amount),
    ]


async def _kept_before(session: AsyncSession, order_id: uuid.UUID) -> int:
    """The cancellation fees the order's settled refunds kept (issue 13), which a full refund gives back."""
    total = await session.execute(
        select(func.coalesce(func.sum(col(Refund.fee_kept_cents)), 0)).where(
            col(Refund.order_id) == order_id, col(Refund.status) == RefundStatus.SUCCEEDED
        )
    )
    return int(total.scalar_one())
