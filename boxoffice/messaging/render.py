"""The buyer's e-mails, rendered from plain dataclasses: an HTML part and its plain-text alternative.

Templates live in ``templates/`` (Jinja2, HTML autoescaped). Callers build an ``OrderMail`` from whatever they
have loaded and call one builder; the result is an ``EmailMessage`` with To, Subject and the two parts (and the
PDF for a confirmation). From, Reply-To, Date and Message-ID are the Mailer's job (``Mailer.send``).
Strings in the templates are English; ``locale`` decides how money, dates and times are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from boxoffice.money import format_money


@dataclass(frozen=True)
class TicketLine:
    """One ticket as the buyer sees it. ``status`` is the ticket's status (active, scanned, used, voided, refunded)."""

    type_name: str
    attendee_name: str | None
    code: str
    price_minor: int
    status: str = "active"
    voucher_code: str | None = None  # issue 13: the voucher that priced it (``price_minor`` is after it)


@dataclass(frozen=True)
class OrderMail:
    """What every message about an order shows. ``starts_at`` is aware; it is shown in the event's ``timezone``."""

    order_id: str
    order_url: str
    buyer_name: str
    buyer_email: str
    event_name: str
    venue: str | None
    starts_at: datetime
    timezone: str
    currency: str
    total_minor: int
    tickets: Sequence[TicketLine] = field(default_factory=tuple)
    locale: str = "en"
    brand: str = "Boxoffice"
    # Issue 13: what the order's vouchers took off (shown above the total), and their codes.
    discount_minor: int = 0
    voucher_codes: Sequence[str] = field(default_factory=tuple)


_LIVE = ("active", "scanned", "used")
_STATUS_LABELS = {"active": "Valid", "scanned": "Scanned", "used": "Used", "voided": "Voided", "refunded": "Refunded"}
# Accent colour per kind, and status badge colours (text, background): chosen for contrast on white (WCAG AA).
_ACCENTS = {"confirmation": "#4338ca", "refund": "#0f766e", "cancellation": "#b45309", "void": "#b91c1c"}
_ACCENTS.update(transfer_received="#4338ca", transfer_sent="#0369a1")  # issue 13: ticket transfers
_BADGES = {
    "active": ("#166534", "#dcfce7"),
    "scanned": ("#1e40af", "#dbeafe"),
    "used": ("#374151", "#e5e7eb"),
    "voided": ("#991b1b", "#fee2e2"),
    "refunded": ("#854d0e", "#fef3c7"),
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("boxoffice.messaging", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def format_when(starts_at: datetime, timezone: str, locale: str = "en") -> str:
    """The local date and time where the event is, e.g. en_ZA: "Saturday, 14 March 2026, 19:30 SAST"."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    local = starts_at.astimezone(ZoneInfo(timezone))
    zone = local.tzname() or timezone
    if zone[:1] in "+-":  # zones without an abbreviation are named by offset: "+03" → "UTC+03"
        zone = f"UTC{zone}"
    try:
        loc = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown locale: {locale!r}") from None
    return f"{format_date(local, 'full', locale=loc)}, {format_time(local, 'short', locale=loc)} {zone}"


def _one_line(text: str) -> str:
    """Header-safe: a name with a line break would otherwise be refused by (or split) the Subject header."""
    return " ".join(text.split())


def _ticket_rows(mail: OrderMail, tickets: Sequence[TicketLine]) -> list[dict[str, Any]]:
    return [
        {
            "type_name": t.type_name,
            "attendee": t.attendee_name or mail.buyer_name,
            "code": t.code,
            "price": format_money(t.price_minor, mail.currency, mail.locale),
            "status": t.status,
            "status_label": _STATUS_LABELS.get(t.status, t.status.title()),
            "badge": _BADGES.get(t.status, _BADGES["used"]),
            "voucher_code": t.voucher_code,
        }
        for t in tickets
    ]


def _context(mail: OrderMail, kind: str, **extra: Any) -> dict[str, Any]:
    if not mail.order_url.startswith(("https://", "http://")):
        raise ValueError(f"order_url must be an http(s) URL: {mail.order_url!r}")
    return {
        "kind": kind,
        "accent": _ACCENTS[kind],
        "lang": mail.locale.replace("_", "-").split("-")[0],
        "brand": mail.brand,
        "buyer_name": mail.buyer_name,
        "first_name": mail.buyer_name.split()[0] if mail.buyer_name.strip() else "there",
        "buyer_email": mail.buyer_email,
        "event_name": mail.event_name,
        "venue": mail.venue,
        "when": format_when(mail.starts_at, mail.timezone, mail.locale),
        "order_id": mail.order_id,
        "order_url": mail.order_url,
        "tickets": _ticket_rows(mail, mail.tickets),
        "total": format_money(mail.total_minor, mail.currency, mail.locale),
        "discount": format_money(mail.discount_minor, mail.currency, mail.locale) if mail.discount_minor else None,
        "vouchers": ", ".join(dict.fromkeys(mail.voucher_codes)),
        **extra,
    }


def _message(mail: OrderMail, kind: str, subject: str, context: Mapping[str, Any]) -> EmailMessage:
    env = _environment()
    ctx = {**context, "subject": subject}
    text = env.get_template(f"{kind}.txt").render(ctx)
    html = env.get_template(f"{kind}.html").render(ctx)
    msg = EmailMessage()
    msg["To"] = Address(display_name=_one_line(mail.buyer_name), addr_spec=mail.buyer_email)
    msg["Subject"] = subject
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def confirmation(mail: OrderMail, pdf: bytes, *, filename: str = "tickets.pdf", updated: bool = False) -> EmailMessage:
    """ "Your tickets for …": every ticket with its type, attendee and code, the total, and the PDF attached.

    ``updated``: the tickets changed since they were first sent (a corrected attendee name, say), so the message
    says these are the current ones. Tickets that are no longer valid (refunded, voided) are listed with their
    status, so a re-sent confirmation never passes them off as valid.
    """
    when = format_when(mail.starts_at, mail.timezone, mail.locale)
    count = sum(1 for t in mail.tickets if t.status in _LIVE)
    ctx = _context(
        mail,
        "confirmation",
        preheader=f"{count} ticket{'s' if count != 1 else ''} for {when}. Your tickets are attached as a PDF.",
        updated=updated,
        live_count=count,
        show_status=any(t.status != "active" for t in mail.tickets),
    )
    subject = f"{'Updated tickets' if updated else 'Your tickets'} for {_one_line(mail.event_name)}"
    msg = _message(mail, "confirmation", subject, ctx)
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return msg


def refund(mail: OrderMail, refunded_minor: int, ticket_codes: Sequence[str], full: bool) -> EmailMessage:
    """A refund of ``refunded_minor``: the whole order when ``full``, else the tickets in ``ticket_codes``.

    Lists the refunded tickets (codes not among ``mail.tickets`` are listed by code alone) and, for a partial
    refund, says how many tickets remain valid.
    """
    amount = format_money(refunded_minor, mail.currency, mail.locale)
    codes = list(dict.fromkeys(ticket_codes))
    refunded = [replace(t, status="refunded") for t in mail.tickets if t.code in codes]
    known = {t.code for t in refunded}
    kept = [t for t in mail.tickets if t.code not in known and t.status in _LIVE]
    ctx = _context(
        mail,
        "refund",
        preheader=f"We've refunded {amount} to the payment method you used.",
        amount=amount,
        full=full,
        refunded=_ticket_rows(mail, refunded),
        unlisted_codes=[c for c in codes if c not in known],
        kept_count=len(kept),
    )
    return _message(mail, "refund", f"Refund of {amount} for {_one_line(mail.event_name)}", ctx)


def cancellation(
    mail: OrderMail, reason: str | None, *, event_cancelled: bool = False, unpaid: bool = False
) -> EmailMessage:
    """The order was cancelled (``reason`` shown when given); ``event_cancelled`` when the organiser cancelled
    the whole event; ``unpaid`` when it was cancelled before any payment was taken (the buyer cancelled, the
    payment was declined or not made in time): the seats are released and there is nothing to refund."""
    event = _one_line(mail.event_name)
    if event_cancelled:
        subject = f"{event} has been cancelled"
        preheader = f"{event} on {format_when(mail.starts_at, mail.timezone, mail.locale)} will not take place."
    elif unpaid:
        subject = f"Your order for {event} was cancelled"
        preheader = "The seats you held are released and no payment was taken."
    else:
        subject = f"Your order for {event} was cancelled"
        preheader = f"Your order for {event} is cancelled and its tickets are no longer valid."
    ctx = _context(
        mail, "cancellation", preheader=preheader, reason=reason, event_cancelled=event_cancelled, unpaid=unpaid
    )
    return _message(mail, "cancellation", subject, ctx)


def void(mail: OrderMail, ticket_code: str, reason: str) -> EmailMessage:
    """One ticket (``ticket_code``) was voided by the organiser, with ``reason``; the others stay valid."""
    voided = [replace(t, status="voided") for t in mail.tickets if t.code == ticket_code]
    ctx = _context(
        mail,
        "void",
        preheader=f"Ticket {ticket_code} can no longer be used for entry.",
        ticket_code=ticket_code,
        reason=reason,
        voided=_ticket_rows(mail, voided),
        others_count=sum(1 for t in mail.tickets if t.code != ticket_code and t.status in ("active", "scanned")),
    )
    return _message(mail, "void", f"A ticket for {_one_line(mail.event_name)} was voided", ctx)


def transfer_received(
    mail: OrderMail, ticket: TicketLine, holder_name: str, holder_email: str, pdf: bytes, *, by_organiser: bool
) -> EmailMessage:
    """Issue 13: a ticket transferred to ``holder_name`` <``holder_email``>, sent to them with their ticket alone
    attached. It shows neither the order's link nor its other tickets (they are the buyer's)."""
    theirs = replace(mail, buyer_name=holder_name, buyer_email=holder_email, tickets=(ticket,))
    giver = "The organiser" if by_organiser else (mail.buyer_name.split() or ["Someone"])[0]
    event = _one_line(mail.event_name)
    ctx = _context(
        theirs,
        "transfer_received",
        preheader=f"{giver} transferred a ticket for {event} to you. It is attached as a PDF.",
        giver=giver,
        ticket_code=ticket.code,
    )
    msg = _message(theirs, "transfer_received", f"Your ticket for {event}", ctx)
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="ticket.pdf")
    return msg


def transfer_sent(
    mail: OrderMail, old_code: str, new: TicketLine, holder_name: str, holder_email: str, *, by_organiser: bool
) -> EmailMessage:
    """Issue 13: the buyer's notice that ticket ``old_code`` was transferred to ``holder_name``: its code no longer
    works, and the new ticket (``new``) was sent to ``holder_email``."""
    ctx = _context(
        mail,
        "transfer_sent",
        preheader=f"Ticket {old_code} now belongs to {_one_line(holder_name)} and can no longer be used by you.",
        old_code=old_code,
        holder_name=holder_name,
        holder_email=holder_email,
        by_organiser=by_organiser,
        transferred=_ticket_rows(mail, [new]),
    )
    return _message(mail, "transfer_sent", f"A ticket for {_one_line(mail.event_name)} was transferred", ctx)
