"""Buyer e-mail: every message kind over every transport (real aiosmtpd servers, the outbox), parsed back."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from boxoffice.messaging import (
    MailDeliveryError,
    Mailer,
    OrderMail,
    TicketLine,
    cancellation,
    cancellation_cause,
    confirmation,
    confirmation_cause,
    message_id_for,
    parse_smtp_url,
    refund,
    refund_cause,
    void,
    void_cause,
)
from boxoffice.money import NBSP

# The fixtures are imported to register them here; tests reach them through request.getfixturevalue.
from tests.smtpserver import (  # noqa: F401
    PASSWORD,
    USER,
    SmtpServer,
    smtp_plain,
    smtp_starttls,
    smtps_server,
    tls_files,
)

SENDER = "Boxoffice Tickets <tickets@mail.example.com>"
REPLY_TO = "Help desk <help@example.com>"
ORDER_ID = "3f2a9c1e-8b7d-4e21-9a55-0c6d2f1b7e44"
PDF = b"%PDF-1.7\n% a real PDF is rendered by ticketing.pdf; the bytes must arrive unchanged\n%%EOF\n"
ARTIFACTS = Path(__file__).parent / "artifacts" / "messaging"
# The implicit-TLS test server requires AUTH with aiosmtpd's auth_require_tls off, which only knows STARTTLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def order_mail(currency: str = "ZAR", price: int = 15000, locale: str = "en_ZA", **changes: object) -> OrderMail:
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
    return replace(mail, **changes)  # type: ignore[arg-type]


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
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def check_message(msg: EmailMessage, kind: str, message_id: str) -> None:
    """What every delivered message must carry, read back as a mail client would."""
    # str().strip(): a long Message-ID is folded onto its own line, which RFC 5322 allows and clients unfold
    assert str(msg["Message-ID"]).strip() == f"<{message_id}@mail.example.com>"
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert parseaddr(msg["From"]) == ("Boxoffice Tickets", "tickets@mail.example.com")
    assert parseaddr(msg["Reply-To"]) == ("Help desk", "help@example.com")
    assert parseaddr(msg["To"]) == ("Thandi Mokoena", "thandi@example.com")
    assert "Jazz on the Lawn" in msg["Subject"]
    text, html = parts(msg)
    assert html.lstrip().startswith("<!DOCTYPE html>")
    for needle in COMMON + KINDS[kind][2]:
        assert needle in text, (needle, text)
        assert needle in html, needle
    assert f"https://tickets.example.com/orders/{ORDER_ID}" in text
    assert f'href="https://tickets.example.com/orders/{ORDER_ID}"' in html
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    if kind == "confirmation":
        assert len(pdfs) == 1 and pdfs[0].get_filename() == "tickets.pdf"
        assert pdfs[0].get_content() == PDF
    else:
        assert pdfs == []


TRANSPORTS = ["plain", "starttls", "smtps", "outbox"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_message_over_each_transport(
    kind: str, transport: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    build, cause, _ = KINDS[kind]
    message_id = message_id_for(cause)
    if transport == "outbox":
        mailer = Mailer(None, tmp_path / "outbox", SENDER, REPLY_TO)
        where = await mailer.send(build(order_mail()), message_id=message_id)
        path = tmp_path / "outbox" / f"{message_id}.eml"
        assert where == path.resolve().as_uri()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        check_message(msg, kind, message_id)
        return

    fixture = {"plain": "smtp_plain", "starttls": "smtp_starttls", "smtps": "smtps_server"}[transport]
    server: SmtpServer = request.getfixturevalue(fixture)
    mailer = Mailer(server.url(), None, SENDER, REPLY_TO)
    result = await mailer.send(build(order_mail()), message_id=message_id)
    assert result == f"<{message_id}@mail.example.com>"
    [got] = server.received
    assert got.mail_from == "tickets@mail.example.com"
    assert got.rcpt_tos == ["thandi@example.com"]
    assert got.tls is (transport != "plain")
    assert got.login == (None if transport == "plain" else USER)
    check_message(got.message, kind, message_id)


@pytest.mark.parametrize("fixture", ["smtp_starttls", "smtps_server"])
async def test_wrong_password_is_refused(fixture: str, request: pytest.FixtureRequest) -> None:
    server: SmtpServer = request.getfixturevalue(fixture)
    mailer = Mailer(server.url(password=PASSWORD + "x"), None, SENDER, None)
    with pytest.raises(MailDeliveryError, match="authentication failed") as caught:
        await mailer.send(confirmation(order_mail(), PDF), message_id=message_id_for(confirmation_cause(ORDER_ID)))
    assert not caught.value.permanent  # fixing the configuration lets a retry through
    assert server.received == []


async def test_starttls_is_required_when_asked(request: pytest.FixtureRequest) -> None:
    """smtp+starttls:// against a server that does not offer STARTTLS: nothing is sent in clear text."""
    server: SmtpServer = request.getfixturevalue("smtp_plain")
    mailer = Mailer(server.url(scheme="smtp+starttls"), None, SENDER, None)
    with pytest.raises(MailDeliveryError, match="STARTTLS"):
        await mailer.send(void(order_mail(), "P3WV-8CNE-4LJR", "x"), message_id="void.P3WV-8CNE-4LJR")
    assert server.received == []


async def test_server_certificate_is_verified(request: pytest.FixtureRequest) -> None:
    """Without ?cafile= the private CA is not trusted, so the password is never sent."""
    server: SmtpServer = request.getfixturevalue("smtps_server")
    url = server.url().split("?")[0]
    with pytest.raises(MailDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        await Mailer(url, None, SENDER, None).send(
            void(order_mail(), "P3WV-8CNE-4LJR", "x"), message_id="void.P3WV-8CNE-4LJR"
        )
    assert server.received == []


async def test_non_ascii_names_arrive_intact(request: pytest.FixtureRequest) -> None:
    server: SmtpServer = request.getfixturevalue("smtp_plain")
    mail = order_mail(buyer_name="Zoë Ndlovu-Søndergaard", event_name="Café Jazz — Ōsaka", venue="Zürich Halle")
    await Mailer(server.url(), None, SENDER, None).send(
        confirmation(mail, PDF), message_id=message_id_for(confirmation_cause(ORDER_ID))
    )
    msg = server.received[0].message
    assert parseaddr(str(msg["To"])) == ("Zoë Ndlovu-Søndergaard", "thandi@example.com")
    assert msg["Subject"] == "Your tickets for Café Jazz — Ōsaka"
    text, html = parts(msg)
    assert "Hi Zoë," in text and "Zürich Halle" in html and "Café Jazz — Ōsaka" in html


def test_smtp_urls() -> None:
    target = parse_smtp_url("smtp+starttls://user%40example.com:p%40ss%2Fw@mail.example.com")
    assert (target.hostname, target.port, target.security) == ("mail.example.com", 587, "starttls")
    assert (target.username, target.password) == ("user@example.com", "p@ss/w")
    assert "p@ss" not in repr(target)
    assert parse_smtp_url("smtps://mail.example.com").port == 465
    assert parse_smtp_url("smtp://relay:2525?timeout=5").timeout == 5
    for bad in [
        "smtp://user:pw@relay",  # credentials in clear text
        "http://relay",
        "smtps://relay?verify=false",  # no way to switch verification off
        "smtps://relay?cafile=/nonexistent/ca.pem",
        "smtp://",
        "smtp://relay?timeout=soon",
    ]:
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


def test_mailer_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="BOXOFFICE_MAIL_FROM"):
        Mailer(None, Path("/tmp/x"), "not an address", None)
    with pytest.raises(ValueError):
        Mailer(None, None, SENDER, None)


async def test_outbox_writes_each_message_once(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir(mode=0o755)
    os.chmod(outbox, 0o755)
    mailer = Mailer(None, outbox, SENDER, None)
    message_id = message_id_for(confirmation_cause(ORDER_ID))
    first = await mailer.send(confirmation(order_mail(), PDF), message_id=message_id)
    before = (outbox / f"{message_id}.eml").read_bytes()
    second = await mailer.send(confirmation(order_mail(buyer_name="Someone Else"), PDF), message_id=message_id)
    assert first == second
    assert (outbox / f"{message_id}.eml").read_bytes() == before  # the retry did not send a second message
    assert sorted(p.name for p in outbox.iterdir()) == [f"{message_id}.eml"]
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        await mailer.send(confirmation(order_mail(), PDF), message_id="../escape")


def test_message_ids_follow_from_causes() -> None:
    assert message_id_for(confirmation_cause(ORDER_ID)) == f"confirmation.{ORDER_ID}"
    assert message_id_for(refund_cause("rf_1")) != message_id_for(refund_cause("rf_2"))
    assert message_id_for(void_cause("A-1")) != message_id_for(cancellation_cause("A-1"))
    for bad in ["confirmation", "Confirmation:1", "refund:a.b", "void:x y", "void:../x"]:
        with pytest.raises(ValueError):
            message_id_for(bad)
    with pytest.raises(ValueError):
        refund_cause("a/b")


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
