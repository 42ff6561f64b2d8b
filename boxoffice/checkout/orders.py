"""Orders through a checkout: what every step shares (the order summary, the payment page draft, the transaction),
recording the payment page, and cancelling.

Every function is idempotent (activities may run more than once) and runs in the caller's transaction.
Opening an order is ``opening.py``; completing it, ``completion.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.checkout.contract import CheckoutErrors as E
from boxoffice.checkout.contract import OrderSummary, PaymentDraft, PaymentLine
from boxoffice.errors import BoxofficeError, Conflict
from boxoffice.inventory.holds import release_order_holds
from boxoffice.models import Order, OrderLine, Transaction
from boxoffice.models.states import FulfillmentStatus, OrderStatus, PaymentStatus, TransactionStatus
from boxoffice.money import format_money
from boxoffice.payments.base import PaymentProvider


class CheckoutFailure(BoxofficeError):
    """A business failure of a checkout step; ``kind`` is the ``ApplicationError`` type it becomes."""

    def __init__(self, kind: str, detail: str, *, code: str, status: int = 409, **extra: object):
        super().__init__(detail, code=code, status=status, kind=kind, **extra)


def summary(order: Order, txn: Transaction | None) -> OrderSummary:
    return OrderSummary(
        order_id=str(order.id),
        status=order.status,
        total_amount=order.total_amount,
        currency=order.currency,
        reference=txn.reference if txn else "",
        expires_at=order.expires_at.isoformat(),
        payment_url=txn.payment_url if txn else None,
        request_hash=order.request_hash,
        total_text=format_money(order.total_amount, order.currency),
    )


def payment_draft(order: Order, txn: Transaction, event_name: str, lines: list[OrderLine]) -> PaymentDraft:
    """What the provider's payment page shows for the order."""
    items = [PaymentLine(name=_line_name(ln), unit_amount=ln.unit_price_cents, quantity=ln.quantity) for ln in lines]
    if order.fee_cents:
        items.append(PaymentLine(name="Service fee", unit_amount=order.fee_cents, quantity=1))
    if order.tip_cents:
        items.append(PaymentLine(name="Tip", unit_amount=order.tip_cents, quantity=1))
    return PaymentDraft(
        provider=order.provider,
        reference=txn.reference,
        amount=order.total_amount,
        currency=order.currency,
        description=f"{event_name} ({order.id})"[:200],
        expires_at=order.expires_at.isoformat(),
        lines=items,
    )


def _line_name(line: OrderLine) -> str:
    """A line as the payment page names it: with its voucher's code, its price being the discounted one (issue 13)."""
    return f"{line.name} (voucher {line.voucher_code})" if line.voucher_code else line.name


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> list[OrderLine]:
    rows = await session.execute(select(OrderLine).where(col(OrderLine.order_id) == order_id))
    return sorted(rows.scalars(), key=lambda ln: ln.position)


async def get_transaction(session: AsyncSession, order_id: str) -> Transaction | None:
    rows = await session.execute(select(Transaction).where(col(Transaction.order_id) == uuid.UUID(order_id)))
    return rows.scalar_one_or_none()


async def record_payment_session(
    session: AsyncSession, order_id: str, *, provider_reference: str, payment_url: str | None, now: datetime
) -> None:
    """Record the provider's payment page in one statement; the only transition it makes is initiated → pending
    (allowed in ``models.states``), so it needs no read of the row first."""
    status = col(Transaction.status)
    await session.execute(
        update(Transaction)
        .where(col(Transaction.order_id) == uuid.UUID(order_id))
        .values(
            provider_reference=provider_reference,
            payment_url=payment_url,
            status=case((status == TransactionStatus.INITIATED, TransactionStatus.PENDING.value), else_=status),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def cancel_order(session: AsyncSession, order_id: str, *, reason: str, now: datetime) -> str:
    """Cancel a pending order, fail its open transaction and release its holds. Idempotent; returns the status."""
    await release_order_holds(session, order_id, now)
    order = await session.get(Order, uuid.UUID(order_id), with_for_update=True)
    if order is None:
        return "absent"  # the order was never created: releasing the holds was all there was to undo
    if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.REFUNDED):
        raise Conflict(f"order is {order.status}", code="order_not_cancellable")
    cancelling = order.status == OrderStatus.PENDING
    if cancelling:
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = order.updated_at = now
        order.cancel_reason = reason
        order.fulfillment_status = FulfillmentStatus.CANCELLED
        if order.payment_status == PaymentStatus.PENDING:
            order.payment_status = PaymentStatus.FAILED
    txn = await get_transaction(session, order_id)
    if cancelling:  # issue 11: counted once it commits; a repeat finds it cancelled and counts nothing
        page_at = txn.updated_at if txn is not None and txn.status == TransactionStatus.PENDING else None
        waited = metrics.seconds_between(page_at, now)
        _count_cancel(session, metrics.code(order.provider), metrics.code(reason), waited)
    if txn is not None and txn.status in (TransactionStatus.INITIATED, TransactionStatus.PENDING):
        txn.status = TransactionStatus.FAILED
        txn.failure_reason = reason
        txn.updated_at = now
    await session.flush()
    return order.status


def _count_cancel(session: AsyncSession, provider: str, reason: str, waited: float | None) -> None:
    metrics.on_commit(session, metrics.CHECKOUTS_CANCELLED.labels(provider, reason).inc)
    if waited is not None:  # the buyer had the payment page: how long until it was decided
        metrics.on_commit(session, lambda: metrics.PAYMENT_WAIT.labels(provider, reason).observe(waited))


def ensure_currency(provider: PaymentProvider, currency: str) -> None:
    """Refuse (422 ``currency_unsupported``) a currency the provider does not take; the API checks before a
    checkout starts and ``initiate_payment`` checks again, with this one rule."""
    allowed = provider.capabilities.currencies
    if allowed is not None and currency not in allowed:
        raise CheckoutFailure(
            E.CURRENCY_UNSUPPORTED, f"{provider.name} does not take {currency}", code="currency_unsupported", status=422
        )
