"""What each message to a buyer says, read from the database, and the sent-markers that make it once per cause.

A message is about one cause (``kind:key``, see ``boxoffice.messaging.causes``): the order confirmed, a refund
paid out, the order cancelled, a ticket voided, the tickets sent again. ``compose`` builds it from the order as it
is now (event, venue, local time, every ticket's type, attendee, code and status, the total, the order link);
``already_sent`` and ``record_sent`` read and write the cause's sent-marker (table ``sent_messages``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.errors import NotFound, ValidationFailed
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.messaging import OrderMail, TicketLine, cancellation, cause, confirmation, refund, void
from boxoffice.messaging.render import transfer_received, transfer_sent
from boxoffice.models import (
    Attendee,
    Event,
    Order,
    OrderLine,
    Refund,
    SentMessage,
    Ticket,
    TicketTransfer,
    TicketType,
    Transaction,
)
from boxoffice.models.states import PaymentStatus
from boxoffice.ticketing.codes import format_code, is_valid_code

# Kinds whose message carries the order's tickets PDF.
WITH_PDF = frozenset({"confirmation", "resend", "tickets_updated"})
# A cancellation's reason code (the checkout's) as the buyer reads it.
CANCEL_REASONS = {
    "buyer_cancelled": "You cancelled the payment.",
    "payment_declined": "The payment was declined.",
    "payment_timeout": "The payment was not completed in time.",
    "payment_expired": "The payment page expired before a payment was made.",
    "operator_cancelled": "The order was cancelled by the box office.",
}
_CODE_LIKE = re.compile(r"[a-z][a-z0-9_]*")
# The reason an event-cancellation flow gives a cancellation message (optionally followed by ": " and its words).
EVENT_CANCELLED = "event_cancelled"


def cause_of(inp: MessageInput) -> str:
    """The message's cause, ``kind:key``; ValidationFailed (final) for a key that cannot be one."""
    try:
        return cause(inp.kind, inp.key)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="invalid_message_cause") from None


@dataclass(frozen=True)
class OrderView:
    """The order with what every message shows (``mail``), and its tickets' display lines by ticket id."""

    order: Order
    mail: OrderMail
    lines: dict[uuid.UUID, TicketLine]


async def order_view(session: AsyncSession, order_id: str, *, order_url: str, locale: str) -> OrderView:
    order = await session.get(Order, uuid.UUID(order_id))
    if order is None:
        raise NotFound(f"order {order_id} not found", code="order_not_found")
    event = await session.get(Event, order.event_id)
    assert event is not None
    rows = (
        await session.execute(
            select(Ticket, col(TicketType.name), col(Attendee.name), col(OrderLine.voucher_code))
            .join(TicketType, col(TicketType.id) == col(Ticket.ticket_type_id))
            .join(OrderLine, col(OrderLine.id) == col(Ticket.order_line_id))
            .outerjoin(Attendee, col(Attendee.id) == col(Ticket.attendee_id))
            .where(col(Ticket.order_id) == order.id)
            .order_by(col(Ticket.order_line_id), col(Ticket.index_in_line))
        )
    ).all()
    lines = {
        t.id: TicketLine(
            type_name=type_name,
            attendee_name=attendee or order.buyer_name,
            code=format_code(t.ticket_code) if is_valid_code(t.ticket_code) else t.ticket_code,
            price_minor=t.price_cents,
            status=t.status,
            voucher_code=voucher_code,
        )
        for t, type_name, attendee, voucher_code in rows
    }
    mail = OrderMail(
        order_id=str(order.id),
        order_url=order_url,
        buyer_name=order.buyer_name,
        buyer_email=order.buyer_email,
        event_name=event.name,
        venue=event.venue,
        starts_at=event.starts_at,
        timezone=event.timezone,
        currency=order.currency,
        total_minor=order.total_amount,
        tickets=tuple(lines.values()),
        locale=locale,
        discount_minor=order.discount_cents,  # issue 13
        voucher_codes=tuple(line.voucher_code for line in lines.values() if line.voucher_code),
    )
    return OrderView(order, mail, lines)


async def compose(session: AsyncSession, inp: MessageInput, view: OrderView, pdf: bytes | None) -> EmailMessage:
    """The message for ``inp`` (To, Subject, text and HTML parts, the PDF for the kinds in ``WITH_PDF``).

    Raises ``NotFound`` / ``ValidationFailed`` (final: retrying cannot help) when the cause's refund or ticket
    does not exist, the kind is not one this build writes, or a PDF kind has no tickets.
    """
    mail = view.mail
    if inp.kind in WITH_PDF:
        if pdf is None:
            raise NotFound(f"order {inp.order_id} has no tickets to send", code="no_tickets")
        return confirmation(mail, pdf, updated=inp.kind == "tickets_updated")
    if inp.kind == "refund":
        row = await session.get(Refund, _uuid(inp.key, "refund"))
        if row is None or row.order_id != view.order.id:
            raise NotFound(f"refund {inp.key} not found for order {inp.order_id}", code="refund_not_found")
        codes = [view.lines[t].code for t in map(uuid.UUID, row.ticket_ids) if t in view.lines]
        full = view.order.payment_status == PaymentStatus.REFUNDED
        return refund(mail, row.amount, codes, full=full)
    if inp.kind == "cancellation":
        return await _cancellation(session, inp, view)
    if inp.kind == "void":
        line = view.lines.get(_uuid(inp.key, "ticket"))
        if line is None:
            raise NotFound(f"ticket {inp.key} not found in order {inp.order_id}", code="ticket_not_found")
        return void(mail, line.code, inp.reason or "The organiser voided this ticket.")
    if inp.kind == "transfer":
        return await _transfer(session, inp, view, pdf)
    raise ValidationFailed(f"no message is written for {inp.kind!r}", code="unsupported_message_kind")


async def _transfer(session: AsyncSession, inp: MessageInput, view: OrderView, pdf: bytes | None) -> EmailMessage:
    """Issue 13, a ticket transfer (``key``: ``{transfer_id}:holder`` or ``{transfer_id}:buyer``). The new holder
    gets their ticket, as a PDF of its own (``own_pdf_tickets``); the buyer a notice of who has it now."""
    transfer_id, _, party = inp.key.partition(":")
    transfer = await session.get(TicketTransfer, _uuid(transfer_id, "transfer"))
    if transfer is None or transfer.order_id != view.order.id or party not in ("holder", "buyer"):
        raise NotFound(f"no transfer {inp.key} in order {inp.order_id}", code="transfer_not_found")
    holder = await session.get(Attendee, transfer.to_attendee_id)
    assert holder is not None
    new, by_organiser = view.lines[transfer.to_ticket_id], transfer.role == "org_admin"
    if party == "buyer":
        old = view.lines[transfer.from_ticket_id]
        return transfer_sent(view.mail, old.code, new, holder.name, holder.email, by_organiser=by_organiser)
    if pdf is None:
        raise NotFound(f"ticket {transfer.to_ticket_id} has no PDF to send", code="no_tickets")
    return transfer_received(view.mail, new, holder.name, holder.email, pdf, by_organiser=by_organiser)


def own_pdf_tickets(inp: MessageInput) -> list[str]:
    """Issue 13: the tickets whose own PDF a message carries instead of the order's (a transfer's new holder gets
    their ticket alone), or none."""
    return list(inp.ticket_ids) if inp.kind == "transfer" else []


def recipient_of(message: EmailMessage, default: str) -> str:
    """The address a composed message goes to (the buyer's, or a transfer's new holder's)."""
    to = message["To"]
    addresses = getattr(to, "addresses", ())
    return str(addresses[0].addr_spec) if addresses else default


async def _cancellation(session: AsyncSession, inp: MessageInput, view: OrderView) -> EmailMessage:
    """Unpaid (nothing captured, no tickets): "seats released, nothing charged". The whole event cancelled (reason
    ``event_cancelled``, or ``event_cancelled: <what the organiser says>``): says so, with the organiser's words."""
    order = view.order
    txn = (await session.execute(select(Transaction).where(col(Transaction.order_id) == order.id))).scalars().first()
    reason = (inp.reason or order.cancel_reason or "").strip()
    event_cancelled = reason == EVENT_CANCELLED or reason.startswith(f"{EVENT_CANCELLED}:")
    if event_cancelled:
        reason = reason.removeprefix(EVENT_CANCELLED).removeprefix(":").strip()
    unpaid = not view.lines and not (txn is not None and txn.captured_amount)
    shown = CANCEL_REASONS.get(reason) or (None if not reason or _CODE_LIKE.fullmatch(reason) else reason)
    return cancellation(view.mail, shown, event_cancelled=event_cancelled, unpaid=unpaid and not event_cancelled)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value!r} not found", code=f"{what}_not_found") from None


async def already_sent(session: AsyncSession, cause_key: str) -> SentMessage | None:
    """The cause's sent-marker, if its message went out before."""
    return await session.get(SentMessage, cause_key)


async def record_sent(
    session: AsyncSession,
    *,
    cause_key: str,
    kind: str,
    order_id: str,
    message_id: str,
    recipient: str,
    now: datetime,
) -> None:
    """Record the cause's sent-marker; recording it again is a no-op (the first one stands)."""
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(SentMessage)
    values = {
        "cause": cause_key,
        "kind": kind,
        "order_id": uuid.UUID(order_id),
        "message_id": message_id,
        "recipient": recipient,
        "sent_at": now,
    }
    await session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["cause"]))
