"""The new message variants and the revoked-ticket PDF page, looked at as a person would: rendered to PNG images
under tests/artifacts/delivery/ (by Debian's Chromium for the HTML e-mails, by poppler for the PDF)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from boxoffice.fulfilment.revoked import TicketPage, render_order_pdf
from boxoffice.messaging import cancellation, confirmation, refund
from boxoffice.ticketing.pdf import TicketDocument
from tests.delivery.shop import pdf_pages, pdf_qr_codes
from tests.mail_samples import PDF, order_mail, parts

ARTIFACTS = Path(__file__).parent.parent / "artifacts" / "delivery"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _looks_like_a_page(png: Path, width: int, height: int) -> None:
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (width, height)
        colours = cast(list[tuple[int, tuple[int, int, int]]], rgb.getcolors(maxcolors=1 << 20) or [])
        ink = sum(n for n, c in colours if sum(c) < 3 * 128)
        assert len(colours) > 50, f"{png} is nearly blank"
        assert ink > 0.005 * width * height, f"{png} shows almost no text"


def _variants() -> dict[str, str]:
    mail = order_mail()
    revoked = replace(mail, tickets=(mail.tickets[0], replace(mail.tickets[1], status="refunded")))
    return {
        "cancellation-unpaid": parts(cancellation(replace(mail, tickets=()), "The payment was declined.", unpaid=True))[
            1
        ],
        "confirmation-updated": parts(confirmation(revoked, PDF, updated=True))[1],
        "refund-automatic": parts(refund(replace(mail, tickets=()), 30000, [], full=True))[1],
    }


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium")
def test_new_message_variants_render(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, html in _variants().items():
        source = tmp_path / f"{name}.html"
        source.write_text(html, encoding="utf-8")
        png = ARTIFACTS / f"{name}-600.png"
        png.unlink(missing_ok=True)
        subprocess.run(
            [
                str(CHROMIUM),
                *("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"),
                *("--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"),
                f"--user-data-dir={tmp_path / 'chromium'}",
                f"--screenshot={png}",
                "--window-size=600,1100",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        _looks_like_a_page(png, 600, 1100)


def test_revoked_pages_are_marked_and_carry_no_qr(tmp_path: Path) -> None:
    """One order, three tickets: valid, refunded, voided. Each keeps its page, in order; only the valid one has a
    QR code an independent decoder can read."""
    doc = TicketDocument(
        ticket_code="K7QF2MXD9HTA4LJR",
        qr_payload=f"BX-TEST-{uuid.uuid4()}",
        event_name="Jazz on the Lawn",
        venue="Kirstenbosch Gardens, Cape Town",
        starts_at=datetime(2027, 3, 14, 17, 30, tzinfo=UTC),
        timezone="Africa/Johannesburg",
        ticket_type_name="General admission",
        attendee_name="Thandi Mokoena",
        order_id=str(uuid.uuid4()),
        price_display="ZAR\u00a0150.00",
    )
    pdf = render_order_pdf([TicketPage(doc, "active"), TicketPage(doc, "refunded"), TicketPage(doc, "voided")])
    pages, codes = pdf_pages(pdf, tmp_path), pdf_qr_codes(pdf, tmp_path)
    assert codes == [[doc.qr_payload], [], []]
    assert "REFUNDED" not in pages[0] and "VOID" not in pages[0]
    assert "REFUNDED" in pages[1] and "was refunded" in pages[1]
    assert "VOID" in pages[2] and "voided by the organiser" in pages[2]
    for page in pages:
        assert "Thandi Mokoena" in page and "ZAR 150.00" in page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (tmp_path / "t.pdf").write_bytes(pdf)
    out = ARTIFACTS / "ticket-refunded"
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "2", "-l", "2", "-singlefile", tmp_path / "t.pdf", out], check=True
    )
    with Image.open(ARTIFACTS / "ticket-refunded.png") as image:
        width, height = image.size
    _looks_like_a_page(ARTIFACTS / "ticket-refunded.png", width, height)
