"""Fulfilment activities (task queue ``boxoffice-documents``): the order's PDF stored, messages sent once per cause,
the order delivered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.errors import MessageError

from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.db import Database
from boxoffice.failures import typed_errors
from boxoffice.fulfilment import documents, messages
from boxoffice.fulfilment.contract import FulfillmentResult, MessageInput, MessageResult
from boxoffice.fulfilment.documents import pdf_key
from boxoffice.messaging import MailDeliveryError, Mailer, message_id_for
from boxoffice.models import Order
from boxoffice.models.states import FulfillmentStatus, OrderStatus
from boxoffice.models.types import utcnow
from boxoffice.storage import Storage

MAIL_REFUSED = "MailRefused"


class DocumentActivities:
    """PDFs render in the renderer process (see ``RENDER_PROCESSES``); ``close()`` when the workers have stopped.

    ``order_url`` gives the link a message shows for an order; ``locale`` how money and dates are written.
    """

    def __init__(
        self,
        db: Database,
        storage: Storage,
        mailer: Mailer,
        *,
        order_url: Callable[[str], str],
        locale: str = "en",
    ):
        self.db, self.storage, self.mailer = db, storage, mailer
        self.order_url, self.locale = order_url, locale
        self.renderer = documents.RendererLease()

    def start(self) -> None:
        """Start the renderer process now (it imports WeasyPrint in the background) rather than on first use."""
        self.renderer.start()

    def close(self) -> None:
        """This instance no longer renders; the last one to close stops the renderer process."""
        self.renderer.close()

    async def aclose(self) -> None:
        """``close()``, and the storage's connections released."""
        self.close()
        await self.storage.aclose()

    async def _render(self, order_id: str) -> bytes | None:
        return await self.renderer.render(self.db, order_id, self.locale)

    @activity.defn(name="render_ticket_pdf")
    async def render_ticket_pdf(self, order_id: str) -> str | None:
        """All the order's tickets in one PDF (one page each, revoked ones marked), stored; returns where.
        An order without tickets has no PDF (None; any stored one is removed)."""
        data = await self._render(order_id)
        if data is None:
            await self.storage.delete(pdf_key(order_id))
            return None
        return await self.storage.put(pdf_key(order_id), data, "application/pdf")

    async def _pdf(self, order_id: str) -> bytes | None:
        """The stored PDF, or (none stored yet) one rendered and stored now."""
        if (stored := await self.storage.get(pdf_key(order_id))) is not None:
            return stored
        data = await self._render(order_id)
        if data is not None:
            await self.storage.put(pdf_key(order_id), data, "application/pdf")
        return data

    @activity.defn(name="send_message")
    async def send_message(self, inp: MessageInput) -> MessageResult:
        """Send the message for ``inp``'s cause unless its sent-marker says it went out before; then write the
        marker. A marker that cannot be written does not fail the step (the message is out: failing would send
        it again): the result says ``recorded=False`` and the run records it with ``record_message_sent``.

        A mail server that refuses the message for good (5xx) fails the step with ``MailRefused`` (final);
        anything else (connection, TLS, 4xx) is retried, and a retry sends the same Message-ID.
        """
        async with typed_errors():
            cause_key = messages.cause_of(inp)
            async with self.db.session() as session:
                if (marker := await messages.already_sent(session, cause_key)) is not None:
                    return MessageResult(
                        inp.kind, inp.order_id, cause_key, "already_sent", marker.message_id, marker.recipient
                    )
                view = await messages.order_view(
                    session, inp.order_id, order_url=self.order_url(inp.order_id), locale=self.locale
                )
                pdf = await self._pdf(inp.order_id) if inp.kind in messages.WITH_PDF and view.lines else None
                if only := messages.own_pdf_tickets(inp):  # issue 13: a transfer's new holder, their ticket alone
                    pdf = await self.renderer.render(self.db, inp.order_id, self.locale, only=only)
                try:
                    message = await messages.compose(session, inp, view, pdf)
                except (ValueError, MessageError) as exc:  # an address no mail header can hold: final, like a 5xx
                    raise ApplicationError(
                        f"cannot address the message: {exc}", type=MAIL_REFUSED, non_retryable=True
                    ) from exc
        message_id = message_id_for(cause_key)
        try:
            location = await self.mailer.send(message, message_id=message_id)
        except MailDeliveryError as exc:
            if exc.permanent:
                raise ApplicationError(str(exc), type=MAIL_REFUSED, non_retryable=True) from exc
            raise
        result = MessageResult(
            inp.kind,
            inp.order_id,
            cause_key,
            "sent",
            message_id,
            messages.recipient_of(message, view.order.buyer_email),
            location,
            recorded=False,
        )
        try:
            await self._record(result)
        except Exception as exc:  # the database is down or refuses: the run records it in its own step
            activity.logger.warning("message sent; its sent-marker is written later: %r", exc)
            return result
        result.recorded = True
        return result

    @activity.defn(name="record_message_sent")
    async def record_message_sent(self, result: MessageResult) -> None:
        """Write the sent-marker of a message that went out (idempotent)."""
        await self._record(result)

    async def _record(self, result: MessageResult) -> None:
        async with self.db.transaction() as session:
            await messages.record_sent(
                session,
                cause_key=result.cause,
                kind=result.kind,
                order_id=result.order_id,
                message_id=result.message_id,
                recipient=result.recipient,
                now=utcnow(),
            )

    @activity.defn(name="email_tickets")
    async def email_tickets(self, order_id: str) -> str:
        """The confirmation of fulfilment runs started before it became ``send_message`` (kept so they finish)."""
        sent = await self.send_message(MessageInput(kind="confirmation", order_id=order_id, key=order_id))
        if not sent.recorded:
            await self._record(sent)
        return sent.recipient

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
