"""Reading orders for their owner and their organisation's admins (404, never data, for anyone else)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal, Role
from boxoffice.errors import NotFound
from boxoffice.messages import checkout_workflow_id
from boxoffice.models import Attendee, Order, OrderLine, Ticket, Transaction


def visible(order: Order | None, who: Principal) -> bool:
    if order is None or order.organization_id != who.org_id:
        return False
    return who.role is Role.ORG_ADMIN or (who.role is Role.BUYER and order.user_id == who.user_id)


async def get_visible_order(session: AsyncSession, who: Principal, order_id: uuid.UUID) -> Order:
    order = await session.get(Order, order_id)
    if not visible(order, who):
        raise NotFound("order not found", code="order_not_found")
    assert order is not None
    return order


async def list_orders(
    session: AsyncSession, who: Principal, *, limit: int, offset: int, status: str | None = None
) -> list[Order]:
    stmt = select(Order).where(Order.organization_id == who.org_id)  # type: ignore[arg-type]
    if who.role is not Role.ORG_ADMIN:
        stmt = stmt.where(Order.user_id == who.user_id)  # type: ignore[arg-type]
    if status:
        stmt = stmt.where(Order.status == status)  # type: ignore[arg-type]
    rows = await session.execute(stmt.order_by(Order.created_at.desc()).limit(limit).offset(offset))  # type: ignore[attr-defined]
    return list(rows.scalars())


async def order_view(session: AsyncSession, order: Order) -> dict[str, Any]:
    lines = (
        (
            await session.execute(
                select(OrderLine)
                .where(OrderLine.order_id == order.id)  # type: ignore[arg-type]
                .order_by(col(OrderLine.position))
            )
        )
        .scalars()
        .all()
    )
    tickets = (
        await session.execute(
            select(Ticket, col(Attendee.name))
            .outerjoin(Attendee, col(Attendee.id) == col(Ticket.attendee_id))
            .where(col(Ticket.order_id) == order.id)
            .order_by(col(Ticket.order_line_id), col(Ticket.index_in_line))
        )
    ).all()
    txn = (await session.execute(select(Transaction).where(Transaction.order_id == order.id))).scalar_one_or_none()  # type: ignore[arg-type]
    return {
        "id": str(order.id),
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "event_id": str(order.event_id),
        "total_amount": order.total_amount,
        "subtotal_cents": order.subtotal_cents,
        "fee_cents": order.fee_cents,
        "tip_cents": order.tip_cents,
        "currency": order.currency,
        "buyer": {"email": order.buyer_email, "name": order.buyer_name},
        "lines": [
            {
                "ticket_type_id": str(ln.ticket_type_id),
                "hold_id": str(ln.hold_id),
                "name": ln.name,
                "quantity": ln.quantity,
                "unit_price_cents": ln.unit_price_cents,
                "line_total_cents": ln.line_total_cents,
            }
            for ln in lines
        ],
        "tickets": [
            {
                "id": str(t.id),
                "ticket_code": t.ticket_code,
                "status": t.status,
                "ticket_type_id": str(t.ticket_type_id),
                "attendee_name": name,
            }
            for t, name in tickets
        ],
        "transaction": None
        if txn is None
        else {
            "provider": txn.provider,
            "status": txn.status,
            "amount": txn.amount,
            "currency": txn.currency,
            "reference": txn.reference,
            "provider_reference": txn.provider_reference,
            "payment_url": txn.payment_url,
            "captured_amount": txn.captured_amount,
            "refunded_amount": txn.refunded_amount,
        },
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason,
        "workflow_id": checkout_workflow_id(str(order.id)),
    }
