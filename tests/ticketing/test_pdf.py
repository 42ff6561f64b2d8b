"""Ticket PDFs: one page per ticket in one document, fields escaped, times in the event's zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from boxoffice.ticketing.codes import code_from_seed, format_code
from boxoffice.ticketing.keys import generate_signing_key
from boxoffice.ticketing.pdf import (
    TicketDocument,
    format_starts_at,
    render_tickets_document,
    render_tickets_pdf,
    tickets_html,
)
from boxoffice.ticketing.tokens import sign_ticket

STARTS = datetime(2026, 3, 14, 17, 30, tzinfo=UTC)


def _tickets(n: int, *, event_name: str = "Jazz on the Lawn") -> list[TicketDocument]:
    key = generate_signing_key()
    event, order = uuid.uuid4(), uuid.uuid4()
    return [
        TicketDocument(
            ticket_code=code_from_seed(order.bytes + bytes([i]), b"k"),
            qr_payload=sign_ticket(
                key,
                ticket_id=uuid.uuid4(),
                event_id=event,
                organization_id="demo",
                valid_until=STARTS + timedelta(days=1),
                issued_at=STARTS,
            ),
            event_name=event_name,
            venue="Kirstenbosch, Cape Town",
            starts_at=STARTS,
            timezone="Africa/Johannesburg",
            ticket_type_name="General admission",
            attendee_name=f"Guest {i}",
            order_id=order,
            price_display="R 250.00",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [1, 3])
def test_one_page_per_ticket(n: int) -> None:
    assert len(render_tickets_document(_tickets(n)).pages) == n


def test_pdf_bytes() -> None:
    pdf = render_tickets_pdf(_tickets(2))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_html_escapes_fields_and_shows_the_grouped_code() -> None:
    tickets = _tickets(1, event_name='<script>alert("x")</script> & friends')
    page = tickets_html(tickets)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; friends" in page
    assert format_code(tickets[0].ticket_code) in page
    assert page.count("<svg") == 1


def test_start_time_printed_in_the_event_zone() -> None:
    assert format_starts_at(STARTS, "Africa/Johannesburg") == "Saturday 14 March 2026, 19:30 SAST (Africa/Johannesburg)"
    assert format_starts_at(STARTS, "Europe/London") == "Saturday 14 March 2026, 17:30 GMT (Europe/London)"
    with pytest.raises(ValueError):
        format_starts_at(STARTS.replace(tzinfo=None), "Africa/Johannesburg")


def test_no_tickets_is_an_error() -> None:
    with pytest.raises(ValueError):
        tickets_html([])
