"""Fulfilment activities (task queue ``boxoffice-documents``): the order's PDF stored, e-mailed, delivered."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

from temporalio import activity

from boxoffice.db import Database
from boxoffice.fulfilment import documents
from boxoffice.fulfilment.contract import FulfillmentResult
from boxoffice.fulfilment.documents import pdf_key
from boxoffice.mail import Mailer
from boxoffice.models import Event, Order
from boxoffice.models.states import FulfillmentStatus, OrderStatus
from boxoffice.models.types import utcnow
from boxoffice.storage import Storage


class DocumentActivities:
    """PDFs render in the renderer process (see ``RENDER_PROCESSES``); ``close()`` when the workers have stopped."""

    def __init__(self, db: Database, storage: Storage, mailer: Mailer):
        self.db, self.storage, self.mailer = db, storage, mailer
        self.renderer = documents.RendererLease()

    def start(self) -> None:
        """Start the renderer process now (it imports WeasyPrint in the background) rather than on first use."""
        self.renderer.start()

    def close(self) -> None:
        """This instance no longer renders; the last one to close stops the renderer process."""
        self.renderer.close()

    async def _render(self, order_id: str) -> bytes:
        return await self.renderer.render(self.db, order_id)

    @activity.defn(name="render_ticket_pdf")
    async def render_ticket_pdf(self, order_id: str) -> str:
        """All the order's tickets in one PDF (one page each), stored; returns where."""
        data = await self._render(order_id)
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
            pdf = await self._render(order_id)
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
