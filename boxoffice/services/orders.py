"""Orders through a checkout: claim holds, create the order, complete it atomically, or cancel it.

Every function is idempotent (activities may run more than once) and runs in the caller's transaction.
Completing an order issues tickets, converts holds, moves inventory from held to sold, posts the sale
journal and marks the order paid in one transaction: there is never a half-completed order to repair.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import and_, case, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.errors import BoxofficeError, Conflict, NotFound, ValidationFailed
from boxoffice.messages import CheckoutErrors as E
from boxoffice.messages import CheckoutInput, OpenOrderResult, OrderSummary, PaymentDraft, PaymentLine
from boxoffice.models import Event, Hold, Order, OrderLine, Ticket, TicketType, Transaction
from boxoffice.models.states import (
    FulfillmentStatus,
    HoldStatus,
    OrderStatus,
    PaymentStatus,
    TransactionStatus,
)
from boxoffice.payments.base import payment_reference
from boxoffice.services import ledger, pricing
from boxoffice.services.tickets import TicketIssuer, issue_tickets


class CheckoutFailure(BoxofficeError):
    """A business failure of a checkout step; ``kind`` is the ``ApplicationError`` type it becomes."""

    def __init__(self, kind: str, detail: str, *, code: str, status: int = 409, **extra: object):
        super().__init__(detail, code=code, status=status, **extra)
        self.kind = kind


def _uuids(ids: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(i) for i in ids]
    except ValueError:
        raise CheckoutFailure(E.HOLD_NOT_FOUND, "hold not found", code="hold_not_found", status=404) from None


async def _claim_holds(
    session: AsyncSession, *, order_id: str, organization_id: str, user_id: str, hold_ids: list[str], now: datetime
) -> list[Hold]:
    """Mark the buyer's active holds as owned by this order, so the expiry sweeper leaves them alone.

    Returns the holds in the order given; raises ``CheckoutFailure`` (HoldNotFound, HoldExpired,
    HoldUnavailable, MixedEvents).
    """
    oid = uuid.UUID(order_id)
    ids = _uuids(hold_ids)
    if not ids or len(set(ids)) != len(ids):
        raise CheckoutFailure(
            E.HOLD_NOT_FOUND, "hold_ids must be distinct and non-empty", code="validation_error", status=422
        )
    rows = (
        (await session.execute(select(Hold).where(col(Hold.id).in_(ids)).order_by(col(Hold.id)).with_for_update()))
        .scalars()
        .all()
    )
    found = {h.id: h for h in rows if h.organization_id == organization_id and h.user_id == user_id}
    for hid in ids:
        hold = found.get(hid)
        if hold is None:
            raise CheckoutFailure(
                E.HOLD_NOT_FOUND, f"hold {hid} not found", code="hold_not_found", status=404, hold_id=str(hid)
            )
        if hold.order_id == oid and hold.status == HoldStatus.ACTIVE:
            continue  # claimed by this very checkout already
        if hold.status == HoldStatus.EXPIRED or (hold.status == HoldStatus.ACTIVE and hold.expires_at <= now):
            raise CheckoutFailure(
                E.HOLD_EXPIRED, f"hold {hid} has expired", code="hold_expired", status=409, hold_id=str(hid)
            )
        if hold.status != HoldStatus.ACTIVE or hold.order_id is not None:
            raise CheckoutFailure(
                E.HOLD_UNAVAILABLE,
                f"hold {hid} is {hold.status}" + (" and in another checkout" if hold.order_id else ""),
                code="hold_unavailable",
                status=409,
                hold_id=str(hid),
            )
    if len({h.event_id for h in found.values()}) != 1:
        raise CheckoutFailure(
            E.MIXED_EVENTS, "all holds of a checkout must be for one event", code="mixed_events", status=422
        )
    await session.execute(
        update(Hold)
        .where(and_(col(Hold.id).in_(ids), col(Hold.status) == HoldStatus.ACTIVE, col(Hold.order_id).is_(None)))
        .values(order_id=oid)
        .execution_options(synchronize_session=False)
    )
    return [found[i] for i in ids]


async def release_order_holds(session: AsyncSession, order_id: str, now: datetime) -> int:
    """Give back the seats of every active hold this order claimed. Returns how many holds were released."""
    from boxoffice.services.holds import _end_holds

    ended = await _end_holds(session, [Hold.order_id == uuid.UUID(order_id)], HoldStatus.RELEASED, now)
    return len(ended)


async def price_checkout(
    session: AsyncSession, inp: CheckoutInput
) -> tuple[Event, list[Hold], list[TicketType], pricing.Quote]:
    """Price the holds of a checkout (the API refuses bad prices with it before starting a checkout)."""
    ids = _uuids(inp.hold_ids)
    holds = (await session.execute(select(Hold).where(Hold.id.in_(ids)))).scalars().all()  # type: ignore[attr-defined]
    holds = [h for h in holds if h.organization_id == inp.organization_id and h.user_id == inp.user_id]
    if len(holds) != len(set(ids)):
        raise CheckoutFailure(E.HOLD_NOT_FOUND, "hold not found", code="hold_not_found", status=404)
    by_id = {h.id: h for h in holds}
    ordered = [by_id[i] for i in ids]
    event, types, q = await _price(session, inp, ordered)
    return event, ordered, types, q


async def _price(
    session: AsyncSession, inp: CheckoutInput, holds: list[Hold]
) -> tuple[Event, list[TicketType], pricing.Quote]:
    """Price the given holds (in order): the event, each hold's ticket type, and the quote."""
    rows = (
        await session.execute(
            select(TicketType, Event)
            .join(Event, col(Event.id) == col(TicketType.event_id))
            .where(col(TicketType.id).in_({h.ticket_type_id for h in holds}))
        )
    ).all()
    types = {t.id: t for t, _event in rows}
    event = next(e for t, e in rows if t.id == holds[0].ticket_type_id)  # the first hold's (one event per checkout)
    items = [
        pricing.PricedItem(
            key=str(h.id),
            name=types[h.ticket_type_id].name,
            pricing_model=types[h.ticket_type_id].pricing_model,
            base_price_cents=types[h.ticket_type_id].base_price_cents,
            minimum_price_cents=types[h.ticket_type_id].minimum_price_cents,
            suggested_price_cents=types[h.ticket_type_id].suggested_price_cents,
            quantity=h.quantity,
        )
        for h in holds
    ]
    q = pricing.quote(
        items,
        inp.unit_prices_cents,
        tip_cents=inp.tip_cents,
        fee_bps=event.service_fee_bps,
        fee_fixed_cents=event.service_fee_fixed_cents,
    )
    return event, [types[h.ticket_type_id] for h in holds], q


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
    )


def payment_draft(order: Order, txn: Transaction, event_name: str, lines: list[OrderLine]) -> PaymentDraft:
    """What the provider's payment page shows for the order."""
    items = [PaymentLine(name=ln.name, unit_amount=ln.unit_price_cents, quantity=ln.quantity) for ln in lines]
    if order.fee_cents:
        items.append(PaymentLine(name="Service fee", unit_amount=order.fee_cents, quantity=1))
    if order.tip_cents:
        items.append(PaymentLine(name="Tip", unit_amount=order.tip_cents, quantity=1))
    return PaymentDraft(
        provider=order.provider,
        reference=txn.reference,
        amount=order.total_amount,
        currency=order.currency,
        email=order.buyer_email,
        description=f"{event_name} ({order.id})"[:200],
        expires_at=order.expires_at.isoformat(),
        lines=items,
    )


async def open_order(
    session: AsyncSession, inp: CheckoutInput, *, window_closes_at: datetime, now: datetime
) -> OpenOrderResult:
    """Claim the buyer's holds for the order and create it, with its lines and (unless free) its transaction,
    priced once, in the caller's transaction: the order exists exactly when its holds are claimed.

    The order expires at the end of the payment window or at the earliest hold expiry, whichever comes first.
    A repeat (a retried step, or a replay after a crash) returns the same order.
    """
    oid = uuid.UUID(inp.order_id)
    holds = await _claim_holds(
        session,
        order_id=inp.order_id,
        organization_id=inp.organization_id,
        user_id=inp.user_id,
        hold_ids=inp.hold_ids,
        now=now,
    )
    if any(h.order_id == oid for h in holds):  # claimed by this order already: it was created with the claim
        existing = await session.get(Order, oid)
        if existing is not None:
            return await _reopened(session, existing)
    try:
        event, types, q = await _price(session, inp, holds)
    except ValidationFailed as exc:
        kind = E.PRICE_BELOW_MINIMUM if exc.code == "price_below_minimum" else E.INVALID_PRICE
        raise CheckoutFailure(kind, exc.detail, code=exc.code, status=422, **exc.extra) from None
    order = Order(
        id=oid,
        organization_id=inp.organization_id,
        event_id=event.id,
        user_id=inp.user_id,
        buyer_email=inp.buyer_email,
        buyer_name=inp.buyer_name,
        currency=event.currency,
        subtotal_cents=q.subtotal_cents,
        fee_cents=q.fee_cents,
        tip_cents=q.tip_cents,
        total_amount=q.total_amount,
        provider="none" if q.is_free else inp.provider,
        idempotency_key=inp.idempotency_key,
        request_hash=inp.request_hash,
        attendees=[{"name": a.name, "email": a.email} for a in inp.attendees],
        payment_status=PaymentStatus.NOT_REQUIRED if q.is_free else PaymentStatus.PENDING,
        expires_at=min(window_closes_at, *(h.expires_at for h in holds)),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    lines = [
        OrderLine(
            order_id=oid,
            hold_id=hold.id,
            ticket_type_id=tt.id,
            name=line.name,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            line_total_cents=line.line_total_cents,
            position=pos,
        )
        for pos, (hold, tt, line) in enumerate(zip(holds, types, q.lines, strict=True))
    ]
    session.add_all(lines)
    txn = None
    if not q.is_free:
        txn = Transaction(
            order_id=oid,
            organization_id=inp.organization_id,
            provider=inp.provider,
            amount=q.total_amount,
            currency=event.currency,
            reference=payment_reference(inp.order_id),
        )
        session.add(txn)
    await session.flush()
    draft = payment_draft(order, txn, event.name, lines) if txn is not None else None
    return OpenOrderResult(summary=summary(order, txn), payment=draft)


async def _reopened(session: AsyncSession, order: Order) -> OpenOrderResult:
    txn = await get_transaction(session, str(order.id))
    if txn is None:
        return OpenOrderResult(summary=summary(order, None))
    event = await session.get(Event, order.event_id)
    lines = await order_lines(session, order.id)
    return OpenOrderResult(
        summary=summary(order, txn), payment=payment_draft(order, txn, event.name if event else "Tickets", lines)
    )


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> list[OrderLine]:
    rows = await session.execute(select(OrderLine).where(col(OrderLine.order_id) == order_id))
    return sorted(rows.scalars(), key=lambda ln: ln.position)


async def get_transaction(session: AsyncSession, order_id: str) -> Transaction | None:
    return (
        await session.execute(select(Transaction).where(Transaction.order_id == uuid.UUID(order_id)))  # type: ignore[arg-type]
    ).scalar_one_or_none()


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
            .with_for_update(of=Order)  # type: ignore[arg-type]
        )
    ).first()
    if found is None:
        raise NotFound(f"order {order_id} not found", code="order_not_found")
    order, event, txn = found
    if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED):
        rows = await session.execute(select(Ticket.id).where(Ticket.order_id == order.id))  # type: ignore[call-overload]
        return [r[0] for r in rows.all()]
    if order.status != OrderStatus.PENDING:
        raise CheckoutFailure(E.NOT_CANCELLABLE, f"order is {order.status}", code="order_not_pending")
    if amount != order.total_amount or currency.upper() != order.currency:
        raise CheckoutFailure(
            E.AMOUNT_MISMATCH,
            f"paid {amount} {currency}, order is {order.total_amount} {order.currency}",
            code="amount_mismatch",
        )
    lines = list((await session.execute(select(OrderLine).where(OrderLine.order_id == order.id))).scalars())  # type: ignore[arg-type]
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
    for tt_id in sorted(per_type):
        await session.execute(
            update(TicketType)
            .where(TicketType.id == tt_id)  # type: ignore[arg-type]
            .values(held=TicketType.held - per_type[tt_id], sold=TicketType.sold + per_type[tt_id])
        )
    # Tickets are issued only here, in the transaction that makes the order paid: a pending order has none.
    tickets = await issue_tickets(session, order, lines, event, issuer, now, check_existing=False)
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
            memo=f"order {order.id}",
        )
    order.status = OrderStatus.PAID
    order.fulfillment_status = FulfillmentStatus.ISSUED
    order.paid_at = order.updated_at = now
    await session.flush()
    return [t.id for t in tickets]


async def cancel_order(session: AsyncSession, order_id: str, *, reason: str, now: datetime) -> str:
    """Cancel a pending order, fail its open transaction and release its holds. Idempotent; returns the status."""
    await release_order_holds(session, order_id, now)
    order = await session.get(Order, uuid.UUID(order_id), with_for_update=True)
    if order is None:
        return "absent"  # the order was never created: releasing the holds was all there was to undo
    if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.REFUNDED):
        raise Conflict(f"order is {order.status}", code="order_not_cancellable")
    if order.status == OrderStatus.PENDING:
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = order.updated_at = now
        order.cancel_reason = reason
        order.fulfillment_status = FulfillmentStatus.CANCELLED
        if order.payment_status == PaymentStatus.PENDING:
            order.payment_status = PaymentStatus.FAILED
    txn = await get_transaction(session, order_id)
    if txn is not None and txn.status in (TransactionStatus.INITIATED, TransactionStatus.PENDING):
        txn.status = TransactionStatus.FAILED
        txn.failure_reason = reason
        txn.updated_at = now
    await session.flush()
    return order.status


async def record_late_capture(
    session: AsyncSession,
    order_id: str,
    *,
    amount: int,
    currency: str,
    provider_transaction_id: str | None,
    now: datetime,
) -> Transaction:
    """Record money the provider captured for an order we could not fulfil; it waits in unallocated receipts."""
    txn = await get_transaction(session, order_id)
    if txn is None:
        raise NotFound("no transaction for this order", code="transaction_not_found")
    if txn.status in (TransactionStatus.INITIATED, TransactionStatus.PENDING, TransactionStatus.FAILED):
        txn.status = TransactionStatus.SUCCEEDED
        txn.captured_amount, txn.captured_currency = amount, currency.upper()
        txn.provider_transaction_id = provider_transaction_id or txn.provider_transaction_id
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
