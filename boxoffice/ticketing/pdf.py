"""An order's tickets as one printable PDF, one page per ticket.

All tickets go into a single WeasyPrint document: WeasyPrint's fixed cost per document dominates
(about 4 one-page documents per second, against tens of pages per second inside one document), so
rendering pages separately and merging would be several times slower.

WeasyPrint is imported on first use: it is heavy, and only the documents worker renders PDFs.

Most of a document's cost is subsetting its fonts. WeasyPrint does that with HarfBuzz's subsetter when the
system has ``libharfbuzz-subset`` (Debian: ``libharfbuzz-subset0``), else with fontTools in Python, measured
here at about 280 ms of CPU per PDF against 19 ms: ``font_subsetter()`` says which one this machine uses.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from boxoffice.ticketing.codes import format_code, is_valid_code
from boxoffice.ticketing.qr import qr_svg

if TYPE_CHECKING:
    from weasyprint.document import Document


def font_subsetter() -> str:
    """``"harfbuzz"`` when WeasyPrint will find libharfbuzz-subset, else ``"fonttools"`` (about 15× slower).

    Looks for the library the way WeasyPrint's loader does, without importing WeasyPrint.
    """
    import ctypes
    import ctypes.util

    for name in ("harfbuzz-subset", "libharfbuzz-subset-0", "libharfbuzz-subset.so.0"):
        found = ctypes.util.find_library(name) or name
        try:
            ctypes.CDLL(found)
        except OSError:
            continue
        return "harfbuzz"
    return "fonttools"


@dataclass(frozen=True)
class TicketDocument:
    """What one printed ticket shows. ``starts_at`` is aware; it is printed in the event's ``timezone``."""

    ticket_code: str
    qr_payload: str
    event_name: str
    venue: str | None
    starts_at: datetime
    timezone: str
    ticket_type_name: str
    attendee_name: str | None
    order_id: uuid.UUID | str
    price_display: str


@cache
def _template(name: str) -> str:
    return resources.files("boxoffice.ticketing").joinpath("templates", name).read_text(encoding="utf-8")


def format_starts_at(starts_at: datetime, timezone: str) -> str:
    """E.g. ``Saturday 14 March 2026, 19:30 SAST (Africa/Johannesburg)``: local time where the event is."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    local = starts_at.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()} ({timezone})"


def _ticket_html(ticket: TicketDocument) -> str:
    # A valid code is printed grouped; anything else is printed as given rather than hiding a data problem.
    code = format_code(ticket.ticket_code) if is_valid_code(ticket.ticket_code) else ticket.ticket_code
    e = html.escape
    return _template("ticket.html").format(
        event_name=e(ticket.event_name),
        starts_at=e(format_starts_at(ticket.starts_at, ticket.timezone)),
        venue=e(ticket.venue or ""),
        qr_svg=qr_svg(ticket.qr_payload, inline=True),  # segno's own markup: already well-formed SVG
        ticket_code=e(code),
        ticket_type_name=e(ticket.ticket_type_name),
        attendee_name=e(ticket.attendee_name or "—"),
        price=e(ticket.price_display),
        order_id=e(str(ticket.order_id)),
    )


def tickets_html(tickets: Sequence[TicketDocument]) -> str:
    """The HTML document the PDF is rendered from (every field escaped)."""
    if not tickets:
        raise ValueError("no tickets to render")
    body = "\n".join(_ticket_html(t) for t in tickets)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tickets</title>'
        f"<style>{_template('tickets.css')}</style></head><body>{body}</body></html>"
    )


def render_tickets_document(tickets: Sequence[TicketDocument]) -> Document:
    """The laid-out WeasyPrint document: exactly one page per ticket, in order (``len(doc.pages)``)."""
    from weasyprint import HTML

    return HTML(string=tickets_html(tickets)).render()


def render_tickets_pdf(tickets: Sequence[TicketDocument]) -> bytes:
    """The tickets as one PDF with one page per ticket, in the order given."""
    return render_tickets_document(tickets).write_pdf()
