"""Buyer e-mail delivered: every message kind over every transport (real aiosmtpd servers with plain SMTP,
STARTTLS and implicit TLS, and the outbox), parsed back as a mail client would; refusals, SMTP URLs and message ids."""

from __future__ import annotations

import email
import email.policy
import os
import stat
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest

from boxoffice.messaging import (
    MailDeliveryError,
    Mailer,
    cancellation_cause,
    confirmation,
    confirmation_cause,
    message_id_for,
    parse_smtp_url,
    refund_cause,
    void,
    void_cause,
)
from tests.mail_samples import COMMON, KINDS, ORDER_ID, PDF, REPLY_TO, SENDER, order_mail, parts
from tests.smtpserver import PASSWORD, USER, SmtpServer

# The implicit-TLS test server requires AUTH with aiosmtpd's auth_require_tls off, which only knows STARTTLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


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
