"""Document activities (task queue ``boxoffice-documents``): ticket PDFs, e-mail, delivery status."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

from sqlalchemy import select
from temporalio import activity

from boxoffice.db import Database
from boxoffice.mail import Mailer
from boxoffice.messages import FulfillmentResult
from boxoffice.models import Attendee, Event, Order, Ticket, TicketType
from boxoffice.models.states import FulfillmentStatus, OrderStatus
from boxoffice.models.types import utcnow
from boxoffice.storage import Storage


def pdf_key(order_id: str) -> str:
    return f"orders/{order_id}/tickets.pdf"


async def order_documents(db: Database, order_id: str) -> tuple[Order, list[object]]:
    """The order and one TicketDocument per active ticket, in a stable order."""
    from boxoffice.ticketing.pdf import TicketDocument

    async with db.session() as session:
        order = await session.get(Order, uuid.UUID(order_id))
        assert order is not None
        event = await session.get(Event, order.event_id)
        assert event is not None
        rows = (
            await session.execute(
                select(Ticket, TicketType.name, Attendee.name)  # type: ignore[call-overload]
                .join(TicketType, TicketType.id == Ticket.ticket_type_id)
                .outerjoin(Attendee, Attendee.id == Ticket.attendee_id)
                .where(Ticket.order_id == order.id)
                .order_by(Ticket.order_line_id, Ticket.index_in_line)
            )
        ).all()
    docs = [
        TicketDocument(
            ticket_code=t.ticket_code,
            qr_payload=t.qr_payload,
            event_name=event.name,
            venue=event.venue or "",
            starts_at=event.starts_at,
            timezone=event.timezone,
            ticket_type_name=tt_name,
            attendee_name=att_name or order.buyer_name,
            order_id=str(order.id),
            price_display=f"{t.price_cents / 100:.2f} {order.currency}",
        )
        for t, tt_name, att_name in rows
    ]
    return order, docs


async def render_pdf(db: Database, order_id: str) -> bytes:
    from boxoffice.ticketing.pdf import render_tickets_pdf

    _order, docs = await order_documents(db, order_id)
    import asyncio

    return await asyncio.to_thread(render_tickets_pdf, docs)  # type: ignore[arg-type]


class DocumentActivities:
    def __init__(self, db: Database, storage: Storage, mailer: Mailer):
        self.db, self.storage, self.mailer = db, storage, mailer

    @activity.defn(name="render_ticket_pdf")
    async def render_ticket_pdf(self, order_id: str) -> str:
        """All the order's tickets in one PDF (one page each), stored; returns where."""
        data = await render_pdf(self.db, order_id)
        return await self.storage.put(pdf_key(order_id), data, "application/pdf")

    @activity.defn(name="email_tickets")
    async def email_tickets(self, order_id: str) -> str:
        """E-mail the buyer their tickets PDF (once per order: a stable Message-ID)."""
        async with self.db.session() as session:
            order = await session.get(Order, uuid.UUID(order_id))
            assert order is not None
            event = await session.get(Event, order.event_id)
        pdf = await self.storage.get(pdf_key(order_id))
        if pdf is None:
            pdf = await render_pdf(self.db, order_id)
        msg = EmailMessage()
        msg["To"] = f"{order.buyer_name} <{order.buyer_email}>"
        msg["Subject"] = f"Your tickets for {event.name if event else 'your event'}"
        msg.set_content(
            f"Hello {order.buyer_name},\n\nYour tickets for order {order.id} are attached.\n"
            "Show the QR code at the gate.\n\nBoxoffice\n"
        )
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="tickets.pdf")
        return await self.mailer.send(msg, message_id=f"tickets-{order_id}")

    @activity.defn(name="mark_fulfilled")
    async def mark_fulfilled(self, result: FulfillmentResult) -> str:
        """Tickets delivered: fulfilment ``delivered`` and the order ``fulfilled`` (unless refunded meanwhile)."""
        async with self.db.transaction() as session:
            order = await session.get(Order, uuid.UUID(result.order_id), with_for_update=True)
            assert order is not None
            if order.fulfillment_status == FulfillmentStatus.ISSUED:
                order.fulfillment_status = FulfillmentStatus.DELIVERED
            if order.status == OrderStatus.PAID:
                order.status = OrderStatus.FULFILLED
            order.updated_at = utcnow()
            return order.status
