"""A sample buyer e-mail for the messaging tests: one order, the four message kinds built from it (each with what
both its parts must say), and reading a message's parts back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from boxoffice.messaging import (
    OrderMail,
    TicketLine,
    cancellation,
    cancellation_cause,
    confirmation,
    confirmation_cause,
    refund,
    refund_cause,
    void,
    void_cause,
)
from boxoffice.money import NBSP

SENDER = "Boxoffice Tickets <tickets@mail.example.com>"
REPLY_TO = "Help desk <help@example.com>"
ORDER_ID = "3f2a9c1e-8b7d-4e21-9a55-0c6d2f1b7e44"
PDF = b"%PDF-1.7\n% a real PDF is rendered by ticketing.pdf; the bytes must arrive unchanged\n%%EOF\n"


def order_mail(currency: str = "ZAR", price: int = 15000, locale: str = "en_ZA", **changes: Any) -> OrderMail:
    """The sample order (two tickets, Cape Town, 14 March 2026), with ``changes`` applied."""
    mail = OrderMail(
        order_id=ORDER_ID,
        order_url=f"https://tickets.example.com/orders/{ORDER_ID}",
        buyer_name="Thandi Mokoena",
        buyer_email="thandi@example.com",
        event_name="Jazz on the Lawn",
        venue="Kirstenbosch Gardens, Cape Town",
        starts_at=datetime(2026, 3, 14, 17, 30, tzinfo=UTC),
        timezone="Africa/Johannesburg",
        currency=currency,
        total_minor=2 * price,
        tickets=(
            TicketLine("General admission", "Thandi Mokoena", "K7QF-2MXD-9HTA", price),
            TicketLine("VIP lounge", "Sipho Dlamini", "P3WV-8CNE-4LJR", price),
        ),
        locale=locale,
    )
    return replace(mail, **changes)


# kind → (builder, cause, what both parts must say besides the common details)
KINDS: dict[str, tuple[Callable[[OrderMail], EmailMessage], str, list[str]]] = {
    "confirmation": (lambda m: confirmation(m, PDF), confirmation_cause(ORDER_ID), ["Total paid", "K7QF-2MXD-9HTA"]),
    "refund": (
        lambda m: refund(m, 15000, ["P3WV-8CNE-4LJR"], full=False),
        refund_cause("rf_01J9Z8"),
        ["P3WV-8CNE-4LJR", "Part of your order has been refunded", f"R{NBSP}150,00"],
    ),
    "cancellation": (
        lambda m: cancellation(m, "The venue flooded.", event_cancelled=True),
        cancellation_cause(ORDER_ID),
        ["The venue flooded.", "cancelled Jazz on the Lawn"],
    ),
    "void": (
        lambda m: void(m, "P3WV-8CNE-4LJR", "Reported as resold above face value."),
        void_cause("P3WV-8CNE-4LJR"),
        ["P3WV-8CNE-4LJR", "Reported as resold above face value.", "can no longer be used for entry"],
    ),
}
COMMON = ["Jazz on the Lawn", "Kirstenbosch Gardens, Cape Town", "Saturday, 14 March 2026, 19:30 SAST", ORDER_ID]


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML part of a message."""
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())
