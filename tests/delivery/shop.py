"""Buying as a buyer would (hold, checkout, the sandbox's Pay button), and reading back what was delivered: the
messages the SMTP server took, and the text and QR codes of a PDF's pages."""

from __future__ import annotations

import asyncio
import io
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens
from tests.helpers import iso, make_event, make_ticket_type
from tests.smtpserver import SmtpServer

EVENT = {"name": "Jazz on the Lawn", "venue": "Kirstenbosch Gardens, Cape Town", "timezone": "Africa/Johannesburg"}
# 14 March, 17:30 UTC: 19:30 in Cape Town (SAST), a Saturday in a future year.
STARTS = datetime(datetime.now(UTC).year + 1, 3, 14, 17, 30, tzinfo=UTC)


@dataclass
class Sale:
    event: dict[str, Any]
    ticket_type: dict[str, Any]


async def open_sale(
    api: httpx.AsyncClient, tokens: Tokens, *, currency: str = "ZAR", price: int = 15000, **event: Any
) -> Sale:
    """An event on sale (``EVENT`` in Cape Town on ``STARTS`` unless overridden) with one fixed-price type."""
    admin = tokens.admin()
    fields = {**EVENT, "starts_at": iso(STARTS), "ends_at": iso(STARTS + timedelta(hours=3)), **event}
    created = await make_event(api, admin, currency=currency, **fields)
    ticket_type = await make_ticket_type(
        api, admin, created["id"], name="General admission", capacity=20, base_price_cents=price
    )
    return Sale(created, ticket_type)


async def start_order(
    api: httpx.AsyncClient, tokens: Tokens, sale: Sale, *, qty: int = 2, user: str = "alice", **body: Any
) -> dict[str, Any]:
    """Hold ``qty`` seats and check out with the sandbox; the checkout's reply (201)."""
    held = await hold(api, tokens, sale.ticket_type["id"], qty, user=user)
    r = await checkout(api, tokens, [held], user=user, **body)
    assert r.status_code == 201, r.text
    reply: dict[str, Any] = r.json()
    return reply


async def buy(
    api: httpx.AsyncClient, tokens: Tokens, sale: Sale, *, qty: int = 2, user: str = "alice", **body: Any
) -> dict[str, Any]:
    """A paid order, once fulfilled (its PDF stored and its confirmation sent)."""
    started = await start_order(api, tokens, sale, qty=qty, user=user, **body)
    await press(api, started["payment_url"])
    order = await wait_order(
        api, tokens.buyer(user), started["order_id"], lambda o: o["status"] == "fulfilled", timeout=60
    )
    assert order["status"] == "fulfilled", order
    return order


async def received(
    server: SmtpServer, count: int, match: Callable[[EmailMessage], bool] = lambda m: True, timeout: float = 30
) -> list[EmailMessage]:
    """The messages the server took that ``match``, once there are at least ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r.message for r in list(server.received) if match(r.message)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def message_id(msg: EmailMessage) -> str:
    return str(msg["Message-ID"]).strip()


def about(prefix: str) -> Callable[[EmailMessage], bool]:
    """Messages whose Message-ID starts with ``<prefix`` (the cause: ``confirmation.{order}``, ``refund.{id}``…)."""
    return lambda m: message_id(m).startswith(f"<{prefix}")


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None, msg
    return str(text.get_content()), str(html.get_content())


def attachment(msg: EmailMessage) -> bytes:
    (pdf,) = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    data = pdf.get_content()
    assert isinstance(data, bytes)
    return data


def pdf_pages(pdf: bytes, folder: Path) -> list[str]:
    """Each page's text, as poppler's pdftotext reads it (no-break spaces as plain spaces)."""
    path = folder / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return [page.replace("\u00a0", " ") for page in out.stdout.split("\f")[: _page_count(path)]]


def _page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_qr_codes(pdf: bytes, folder: Path) -> list[list[str]]:
    """The QR codes an independent decoder (zxing-cpp) finds on each page, rendered at 100 dpi by pdftoppm."""
    path = folder / "scan.pdf"
    path.write_bytes(pdf)
    pages = []
    for n in range(1, _page_count(path) + 1):
        png = subprocess.run(
            ["pdftoppm", "-r", "100", "-png", "-f", str(n), "-l", str(n), str(path)], check=True, capture_output=True
        ).stdout
        with Image.open(io.BytesIO(png)) as image:
            pages.append([b.text for b in zxingcpp.read_barcodes(image)])
    return pages
