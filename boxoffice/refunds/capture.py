"""Automatic refunds: money a provider captured for an order we could not fulfil (a checkout that gave up, an
amount that did not match, a payment that arrived after the checkout closed) is recorded and given back.

``prepare_capture_refund`` is the first step of such a refund's run: in one transaction it records the capture
(held in unallocated receipts) and the order's one automatic refund, or finds there is nothing to give back
because the order was fulfilled with this very payment. It is idempotent: the refund id derives from the order.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.books import ledger
from boxoffice.errors import NotFound
from boxoffice.models import Order, Refund, Transaction
from boxoffice.models.states import OrderStatus, RefundStatus, TransactionStatus
from boxoffice.refunds.contract import CaptureRefund, auto_refund_id
from boxoffice.refunds.settlement import count_refund

SOLD = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.REFUNDED)


async def transaction_of(session: AsyncSession, order_id: str) -> Transaction | None:
    """The order's payment transaction, if it has one (a free order has none)."""
    rows = await session.execute(select(Transaction).where(col(Transaction.order_id) == uuid.UUID(order_id)))
    return rows.scalar_one_or_none()


async def _transaction(session: AsyncSession, order_id: str) -> Transaction:
    txn = await transaction_of(session, order_id)
    if txn is None:
        raise NotFound("no transaction for this order", code="transaction_not_found")
    return txn


async def prepare_capture_refund(
    session: AsyncSession, capture: CaptureRefund, *, amount: int, currency: str, now: datetime
) -> str | None:
    """Record the capture and the automatic refund of ``amount`` (once); returns the refund id, or None when the
    order was sold with this payment after all (nothing to give back)."""
    order = await session.get(Order, uuid.UUID(capture.order_id), with_for_update=True)
    if order is None or order.status in SOLD:
        return None
    await record_late_capture(session, capture.order_id, amount=amount, currency=currency, now=now)
    refund = await create_auto_refund(
        session, capture.order_id, amount=amount, currency=currency, reason=capture.reason, now=now
    )
    return str(refund.id)


async def create_auto_refund(
    session: AsyncSession, order_id: str, *, amount: int, currency: str, reason: str, now: datetime
) -> Refund:
    rid = uuid.UUID(auto_refund_id(order_id))
    existing = await session.get(Refund, rid)
    if existing is not None:
        return existing
    txn = await _transaction(session, order_id)
    refund = Refund(
        id=rid,
        order_id=txn.order_id,
        transaction_id=txn.id,
        organization_id=txn.organization_id,
        amount=amount,
        currency=currency.upper(),
        kind="automatic",
        reason=reason,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    count_refund(session, refund.kind, RefundStatus.REQUESTED)
    return refund


async def record_late_capture(
    session: AsyncSession, order_id: str, *, amount: int, currency: str, now: datetime
) -> Transaction:
    """Record money the provider captured for an order we could not fulfil; it waits in unallocated receipts."""
    txn = await _transaction(session, order_id)
    if txn.status in (TransactionStatus.INITIATED, TransactionStatus.PENDING, TransactionStatus.FAILED):
        txn.status = TransactionStatus.SUCCEEDED
        txn.captured_amount, txn.captured_currency = amount, currency.upper()
        txn.updated_at = now
        order = await session.get(Order, txn.order_id)
        assert order is not None
        await ledger.post_journal(
            session,
            key=f"capture:{order.id}",
            organization_id=order.organization_id,
            kind="capture",
            currency=currency.upper(),
            event_id=order.event_id,
            order_id=order.id,
            postings=[
                ledger.Posting(ledger.clearing(txn.provider), amount),
                ledger.Posting(ledger.UNALLOCATED, -amount),
            ],
            memo="captured for an order that could not be fulfilled",
        )
    await session.flush()
    return txn
