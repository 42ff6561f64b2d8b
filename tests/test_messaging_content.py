"""Buyer e-mail content: money and local time as the buyer's locale writes them, buyer and organiser text escaped in
HTML, the refund wording, and each HTML message rendered by a real browser as a person sees it."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from boxoffice.api.schemas import EMAIL_PATTERN
from boxoffice.messaging import cancellation, confirmation, refund
from boxoffice.money import NBSP
from tests.mail_samples import KINDS, PDF, order_mail, parts

ARTIFACTS = Path(__file__).parent / "artifacts" / "messaging"


@pytest.mark.parametrize(
    ("currency", "price", "locale", "ticket", "total", "wrong"),
    [
        ("JPY", 1500, "en", "¥1,500", "¥3,000", "15.00"),
        ("ZAR", 15000, "en", f"ZAR{NBSP}150.00", f"ZAR{NBSP}300.00", "15000"),
        ("ZAR", 15000, "en_ZA", f"R{NBSP}150,00", f"R{NBSP}300,00", "150.00"),
        ("KWD", 1500, "en", f"KWD{NBSP}1.500", f"KWD{NBSP}3.000", "15.00"),
    ],
)
def test_money_shown_right_in_both_parts(
    currency: str, price: int, locale: str, ticket: str, total: str, wrong: str
) -> None:
    text, html = parts(confirmation(order_mail(currency, price, locale), PDF))
    for part in (text, html):
        assert ticket in part and total in part
        assert wrong not in part


def test_local_time_follows_locale() -> None:
    text, _ = parts(confirmation(order_mail(locale="en"), PDF))
    assert re.search(r"Saturday, March 14, 2026, 7:30\sPM SAST", text)  # CLDR puts U+202F before PM
    text, _ = parts(confirmation(order_mail(timezone="Asia/Tokyo", locale="en_ZA"), PDF))
    assert "Sunday, 15 March 2026, 02:30 JST" in text
    text, _ = parts(confirmation(order_mail(timezone="Asia/Kuwait", locale="en_ZA"), PDF))
    assert "Saturday, 14 March 2026, 20:30 UTC+03" in text  # a zone without an abbreviation
    with pytest.raises(ValueError):
        confirmation(order_mail(locale="xx_YY"), PDF)
    with pytest.raises(ValueError):
        confirmation(order_mail(starts_at=datetime(2026, 3, 14, 17, 30)), PDF)  # naive: which zone?


def test_buyer_and_organiser_text_is_escaped_in_html() -> None:
    mail = order_mail(event_name='<script>alert("x")</script> & Friends', venue="Bar <b>Rock</b>")
    msg = cancellation(mail, "Reason with <img src=x onerror=alert(1)>")
    text, html = parts(msg)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "<b>Rock</b>" not in html
    assert '<script>alert("x")</script> & Friends' in text  # the plain-text part is not HTML
    assert msg["Subject"] == 'Your order for <script>alert("x")</script> & Friends was cancelled'


def test_refund_full_and_partial_wording() -> None:
    text, _ = parts(refund(order_mail(), 30000, ["K7QF-2MXD-9HTA", "P3WV-8CNE-4LJR"], full=True))
    assert "Your order has been refunded." in text and f"R{NBSP}300,00" in text
    assert "remain" not in text
    text, _ = parts(refund(order_mail(), 15000, ["P3WV-8CNE-4LJR"], full=False))
    assert "Your other ticket remains valid" in text and "K7QF-2MXD-9HTA" not in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium: apt-get install -y chromium")
@pytest.mark.parametrize("width", [800, 400])
def test_html_renders_as_a_person_sees_it(width: int, tmp_path: Path) -> None:
    """Each HTML message rendered by headless Chromium to a PNG under tests/artifacts/messaging/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for kind, (build, _cause, _) in KINDS.items():
        html_file = tmp_path / f"{kind}.html"
        html_file.write_text(parts(build(order_mail()))[1], encoding="utf-8")
        png = ARTIFACTS / f"{kind}-{width}.png"
        png.unlink(missing_ok=True)
        subprocess.run(
            [
                str(_chromium()),
                *("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"),
                *("--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"),
                f"--user-data-dir={tmp_path / 'chromium'}",
                f"--screenshot={png}",
                f"--window-size={width},1200",
                html_file.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with Image.open(png) as image:
            rgb = image.convert("RGB")
            assert rgb.size == (width, 1200)
            colours = cast(list[tuple[int, tuple[int, int, int]]], rgb.getcolors(maxcolors=1 << 20) or [])
            ink = sum(n for n, c in colours if sum(c) < 3 * 128)  # dark pixels: text
            white = sum(n for n, c in colours if c == (255, 255, 255))  # the message card
            assert len(colours) > 50, f"{png} is nearly blank"
            assert ink > 0.01 * width * 1200, f"{png} shows almost no text"
            assert white > 0.2 * width * 1200, f"{png} shows no message card"
        print(f"rendered {kind} at {width}px: {png}")


@given(st.from_regex(EMAIL_PATTERN, fullmatch=True))
@settings(max_examples=100, deadline=None)
def test_every_address_the_api_accepts_can_be_written_into_a_to_header(address: str) -> None:
    message = EmailMessage()
    message["To"] = Address(display_name="Ada", addr_spec=address.strip())
    message.as_bytes()  # serialises without a header defect
    assert message["To"].addresses[0].addr_spec == address.strip()
