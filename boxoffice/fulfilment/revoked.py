"""An order's PDF with its revoked tickets marked: a refunded or voided ticket keeps its page, but the page carries a
REFUNDED or VOID band, its code is struck through and its QR code is left out, so no copy of it can pass for a ticket.

Valid tickets are rendered by ``boxoffice.ticketing.pdf`` exactly as before; revoked ones get the page below, and
the pages are put back in the order's ticket order (WeasyPrint's documented way to combine documents: the first
document's ``copy()`` with every page). An order with no revoked ticket costs one document, as before.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boxoffice.ticketing.codes import format_code, is_valid_code
from boxoffice.ticketing.pdf import TicketDocument, format_starts_at

if TYPE_CHECKING:
    from weasyprint.document import Document

# Ticket status → the band's word and what the page says.
REVOKED = {
    "refunded": ("REFUNDED", "This ticket was refunded. It is not valid for entry and will be refused at the gate."),
    "voided": (
        "VOID",
        "This ticket was voided by the organiser. It is not valid for entry and will be refused at the gate.",
    ),
}

_CSS = """
@page { margin: 15mm; }
html { font-family: "DejaVu Sans", "Helvetica", "Arial", sans-serif; color: #111; font-size: 11pt; }
body { margin: 0; }
.ticket { page-break-after: always; break-after: page; max-width: 180mm; margin: 0 auto; text-align: center;
  position: relative; }
.ticket:last-child { page-break-after: auto; break-after: auto; }
header { border-bottom: 0.5mm solid #111; padding-bottom: 4mm; margin-bottom: 6mm; color: #555; }
h1 { font-size: 22pt; margin: 0 0 3mm; }
.when, .where { margin: 1mm 0; font-size: 12pt; }
.band { margin: 4mm auto 6mm; width: 150mm; padding: 5mm 0; background: #b91c1c; color: #fff;
  font-size: 40pt; font-weight: bold; border-radius: 2mm; }
.noqr { margin: 0 auto; width: 62mm; padding: 14mm 4mm; border: 0.6mm dashed #b91c1c; color: #b91c1c;
  font-size: 11pt; }
.code { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 18pt; letter-spacing: 1mm;
  margin: 6mm 0; color: #777; text-decoration: line-through; }
.details { margin: 0 auto; border-collapse: collapse; text-align: left; min-width: 110mm; color: #555; }
.details th { font-weight: normal; padding: 1.5mm 6mm 1.5mm 0; vertical-align: top; }
.details td { padding: 1.5mm 0; }
.mono { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 9pt; }
footer { margin-top: 10mm; font-size: 11pt; color: #b91c1c; font-weight: bold; }
"""


@dataclass(frozen=True)
class TicketPage:
    """One page of an order's PDF: the ticket as printed, and its status (``active``, ``refunded``, …)."""

    document: TicketDocument
    status: str

    @property
    def revoked(self) -> bool:
        return self.status in REVOKED


def _revoked_section(page: TicketPage) -> str:
    t, e = page.document, html.escape
    band, notice = REVOKED[page.status]
    code = format_code(t.ticket_code) if is_valid_code(t.ticket_code) else t.ticket_code
    return f"""<section class="ticket revoked">
  <header><h1>{e(t.event_name)}</h1><p class="when">{e(format_starts_at(t.starts_at, t.timezone))}</p>
  <p class="where">{e(t.venue or "")}</p></header>
  <div class="band">{band}</div>
  <div class="noqr">No entry code: this ticket is {e(page.status)}</div>
  <p class="code">{e(code)}</p>
  <table class="details">
    <tr><th>Ticket</th><td>{e(t.ticket_type_name)}</td></tr>
    <tr><th>Attendee</th><td>{e(t.attendee_name or "—")}</td></tr>
    <tr><th>Price</th><td>{e(t.price_display)}</td></tr>
    <tr><th>Order</th><td class="mono">{e(str(t.order_id))}</td></tr>
  </table>
  <footer>{e(notice)}</footer>
</section>"""


def revoked_html(pages: Sequence[TicketPage]) -> str:
    """The HTML of the revoked tickets' pages (every field escaped, no QR code)."""
    body = "\n".join(_revoked_section(p) for p in pages)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tickets</title>'
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )


def render_order_pdf(pages: Sequence[TicketPage]) -> bytes:
    """All of an order's tickets as one PDF, one page each, in the order given; revoked ones marked and without QR.

    Raises ValueError when there are no pages.
    """
    from weasyprint import HTML

    from boxoffice.ticketing.pdf import render_tickets_document, render_tickets_pdf

    if not pages:
        raise ValueError("no tickets to render")
    live = [i for i, p in enumerate(pages) if not p.revoked]
    revoked = [i for i, p in enumerate(pages) if p.revoked]
    if not revoked:
        return render_tickets_pdf([p.document for p in pages])
    placed: dict[int, Any] = {}
    documents: list[Document] = []
    if live:
        doc = render_tickets_document([pages[i].document for i in live])
        documents.append(doc)
        placed.update(zip(live, doc.pages, strict=True))
    doc = HTML(string=revoked_html([pages[i] for i in revoked])).render()
    documents.append(doc)
    placed.update(zip(revoked, doc.pages, strict=True))
    return documents[0].copy([placed[i] for i in range(len(pages))]).write_pdf()
