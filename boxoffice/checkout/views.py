"""Reading orders: what a buyer or an organiser sees of an order (the rule of who sees it is ``access``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import visible_to
from boxoffice.auth import Principal
from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.models import Attendee, Order, OrderLine, Ticket, Transaction


class BuyerOut(BaseModel):
    email: str
    name: str


class LineOut(BaseModel):
    ticket_type_id: uuid.UUID
    hold_id: uuid.UUID
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    voucher_code: str | None = None  # issue 13: the voucher that priced this line, and what it took off
    discount_cents: int = 0


class OrderTicketOut(BaseModel):
    id: uuid.UUID
    ticket_code: str
    status: str
    ticket_type_id: uuid.UUID
    attendee_name: str | None
    attendee_email: str | None = None


class PaymentOut(BaseModel):
    provider: str
    status: str
    amount: int
    currency: str
    reference: str
    provider_reference: str | None
    payment_url: str | None
    captured_amount: int | None
    refunded_amount: int


class OrderOut(BaseModel):
    id: uuid.UUID
    status: str
    payment_status: str
    fulfillment_status: str
    event_id: uuid.UUID
    total_amount: int
    subtotal_cents: int
    fee_cents: int
    tip_cents: int
    discount_cents: int = 0  # issue 13: the vouchers' discount (the subtotal is after it)
    currency: str
    buyer: BuyerOut
    lines: list[LineOut]
    tickets: list[OrderTicketOut]
    transaction: PaymentOut | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    workflow_id: str


async def list_orders(
    session: AsyncSession,
    who: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    email: str | None = None,
) -> list[Order]:
    """The orders ``who`` may see, newest first; ``email``: only those whose buyer has that address (any case)."""
    stmt = select(Order).where(visible_to(who, Order))
    if status:
        stmt = stmt.where(col(Order.status) == status)
    if email:
        # lower(buyer_email) within the organisation: the index ix_orders_org_buyer_email
        stmt = stmt.where(func.lower(col(Order.buyer_email)) == email.strip().lower())
    rows = await session.execute(stmt.order_by(col(Order.created_at).desc()).limit(limit).offset(offset))
    return list(rows.scalars())


async def order_view(session: AsyncSession, order: Order) -> OrderOut:
    """The order with its lines, tickets and payment (call inside one snapshot: ``Database.snapshot``)."""
    lines = await session.execute(
        select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.position))
    )
    tickets = await session.execute(
        select(Ticket, col(Attendee.name), col(Attendee.email))
        .outerjoin(Attendee, col(Attendee.id) == col(Ticket.attendee_id))
        .where(col(Ticket.order_id) == order.id)
        .order_by(col(Ticket.order_line_id), col(Ticket.index_in_line))
    )
    txn = (await session.execute(select(Transaction).where(col(Transaction.order_id) == order.id))).scalar_one_or_none()
    return OrderOut(
        id=order.id,
        status=order.status,
        payment_status=order.payment_status,
        fulfillment_status=order.fulfillment_status,
        event_id=order.event_id,
        total_amount=order.total_amount,
        subtotal_cents=order.subtotal_cents,
        fee_cents=order.fee_cents,
        tip_cents=order.tip_cents,
        discount_cents=order.discount_cents,
        currency=order.currency,
        buyer=BuyerOut(email=order.buyer_email, name=order.buyer_name),
        lines=[LineOut.model_validate(ln, from_attributes=True) for ln in lines.scalars()],
        tickets=[
            OrderTicketOut(
                id=t.id,
                ticket_code=t.ticket_code,
                status=t.status,
                ticket_type_id=t.ticket_type_id,
                attendee_name=n,
                attendee_email=e,
            )
            for t, n, e in tickets.all()
        ],
        transaction=None if txn is None else PaymentOut.model_validate(txn, from_attributes=True),
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        workflow_id=checkout_workflow_id(str(order.id)),
    )
