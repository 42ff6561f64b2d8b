"""Completing an order: tickets issued, holds converted, held → sold, the sale posted and the order paid, in one
transaction, so there is never a half-completed order to repair. A repeat on a paid order returns its tickets.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.books import ledger
from boxoffice.checkout.contract import CheckoutErrors as E
from boxoffice.checkout.issuing import TicketIssuer, issue_tickets
from boxoffice.checkout.orders import CheckoutFailure
from boxoffice.errors import NotFound
from boxoffice.inventory.holds import move_seats
from boxoffice.models import Event, Hold, Order, OrderLine, Ticket, Transaction
from boxoffice.models.states import FulfillmentStatus, HoldStatus, OrderStatus, PaymentStatus, TransactionStatus


async def complete_order(
    session: AsyncSession,
    order_id: str,
    *,
    amount: int,
    currency: str,
    provider_transaction_id: str | None,
    issuer: TicketIssuer,
    now: datetime,
) -> list[uuid.UUID]:
    """Issue tickets, convert holds, move held → sold, post the sale and mark the order paid, atomically.

    Raises ``CheckoutFailure`` (AmountMismatch, HoldsLost, NotCancellable) when the order cannot be completed;
    a repeat on a paid order returns its tickets.
    """
    found = (
        await session.execute(
            select(Order, Event, Transaction)
            .join(Event, col(Event.id) == col(Order.event_id))
            .outerjoin(Transaction, col(Transaction.order_id) == col(Order.id))
            .where(col(Order.id) == uuid.UUID(order_id))
            .with_for_update(of=Order)
        )
    ).first()
    if found is None:
        raise NotFound(f"order {order_id} not found", code="order_not_found")
    order, event, txn = found
    if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED):
        rows = await session.execute(select(col(Ticket.id)).where(col(Ticket.order_id) == order.id))
        return [r[0] for r in rows.all()]
    if order.status != OrderStatus.PENDING:
        raise CheckoutFailure(E.NOT_CANCELLABLE, f"order is {order.status}", code="order_not_pending")
    if amount != order.total_amount or currency.upper() != order.currency:
        raise CheckoutFailure(
            E.AMOUNT_MISMATCH,
            f"paid {amount} {currency}, order is {order.total_amount} {order.currency}",
            code="amount_mismatch",
        )
    lines = list((await session.execute(select(OrderLine).where(col(OrderLine.order_id) == order.id))).scalars())
    converted = (
        await session.execute(
            update(Hold)
            .where(and_(col(Hold.order_id) == order.id, col(Hold.status) == HoldStatus.ACTIVE))
            .values(status=HoldStatus.CONVERTED.value, ended_at=now)
            .returning(col(Hold.ticket_type_id), col(Hold.quantity))
            .execution_options(synchronize_session=False)
        )
    ).all()
    per_type: Counter[uuid.UUID] = Counter()
    for tt_id, qty in converted:
        per_type[tt_id] += qty
    wanted: Counter[uuid.UUID] = Counter()
    for line in lines:
        wanted[line.ticket_type_id] += line.quantity
    if per_type != wanted:
        raise CheckoutFailure(E.HOLDS_LOST, "the order's holds are no longer all active", code="holds_lost")
    await move_seats(session, per_type, held=-1, sold=+1)
    # Tickets are issued only here, in the transaction that makes the order paid: a pending order has none.
    tickets = await issue_tickets(session, order, lines, event, issuer, now, check_existing=False)
    # The payment page was recorded when the transaction became pending (its last change until now).
    page_at = txn.updated_at if txn is not None and txn.status == TransactionStatus.PENDING else None
    if order.total_amount > 0:
        assert txn is not None
        txn.status = TransactionStatus.SUCCEEDED
        txn.captured_amount, txn.captured_currency = amount, currency.upper()
        txn.provider_transaction_id = provider_transaction_id or txn.provider_transaction_id
        txn.updated_at = now
        order.payment_status = PaymentStatus.PAID
        await ledger.post_journal(
            session,
            key=f"sale:{order.id}",
            organization_id=order.organization_id,
            kind="sale",
            currency=order.currency,
            event_id=order.event_id,
            order_id=order.id,
            postings=ledger.sale_postings(txn.provider, order.subtotal_cents, order.fee_cents, order.tip_cents),
            memo=ledger.sale_memo(order.id, order.discount_cents, [ln.voucher_code for ln in lines if ln.voucher_code]),
        )
    order.status = OrderStatus.PAID
    order.fulfillment_status = FulfillmentStatus.ISSUED
    order.paid_at = order.updated_at = now
    await session.flush()
    _count_sale(session, metrics.code(order.provider), len(tickets), metrics.seconds_between(page_at, now))
    return [t.id for t in tickets]


def _count_sale(session: AsyncSession, provider: str, tickets: int, waited: float | None) -> None:
    """Issue 11: a paid checkout, its tickets and its payment wait, counted once the sale commits."""
    metrics.on_commit(session, metrics.CHECKOUTS_PAID.labels(provider).inc)
    metrics.on_commit(session, lambda: metrics.TICKETS_ISSUED.inc(tickets))
    if waited is not None:
        metrics.on_commit(session, lambda: metrics.PAYMENT_WAIT.labels(provider, "paid").observe(waited))
