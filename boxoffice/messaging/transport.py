"""Delivering a finished message: SMTP (plain, STARTTLS or implicit TLS, with auth) or ``.eml`` files in an outbox.

``BOXOFFICE_SMTP_URL`` forms (user and password are URL-decoded, so ``p%40ss`` is ``p@ss``):

- ``smtp://host:25``: plain SMTP, for a relay on the same host or network. Credentials are refused here: they
  would cross the network in clear text.
- ``smtp+starttls://user:pass@host:587``: STARTTLS is required; a server that does not offer it fails the send.
- ``smtps://user:pass@host:465``: implicit TLS from the first byte.

TLS always verifies the server's certificate and host name against the system's CAs. ``?cafile=/path/ca.pem``
verifies against that file's CAs instead (a private CA, or the self-signed certificate of a local test server);
there is deliberately no switch to turn verification off, so no configuration can send passwords to an
impostor. ``?timeout=SECONDS`` bounds each network step (default 30).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from boxoffice.messaging.causes import MESSAGE_ID

Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


@dataclass(frozen=True)
class SmtpTarget:
    """A parsed SMTP URL. ``repr`` hides the password."""

    hostname: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpTarget({self.security}://{user}{self.hostname}:{self.port})"

    def tls_context(self) -> ssl.SSLContext | None:
        """A verifying client context (only ``cafile``'s CAs when given), or None for plain SMTP."""
        if self.security == "plain":
            return None
        return ssl.create_default_context(cafile=self.cafile)


def parse_smtp_url(url: str) -> SmtpTarget:
    """The SMTP URL's parts; raises ValueError (never echoing the password) for anything it cannot use safely."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"SMTP URL scheme must be one of {', '.join(_SCHEMES)}://, not {parts.scheme!r}")
    security, default_port = _SCHEMES[parts.scheme]
    if not parts.hostname:
        raise ValueError("SMTP URL has no host")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("SMTP URL has an invalid port") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if security == "plain" and (username or password):
        raise ValueError("SMTP credentials need smtp+starttls:// or smtps://; smtp:// would send them in clear text")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(query) - {"cafile", "timeout"}
    if unknown:
        raise ValueError(f"SMTP URL has unknown parameters: {', '.join(sorted(unknown))}")
    cafile = query.get("cafile", [None])[-1]
    if cafile is not None and not Path(cafile).is_file():
        raise ValueError(f"SMTP URL cafile does not exist: {cafile}")
    try:
        timeout = float(query.get("timeout", ["30"])[-1])
    except ValueError:
        raise ValueError("SMTP URL timeout must be a number of seconds") from None
    if not 0 < timeout <= 600:
        raise ValueError("SMTP URL timeout must be between 0 and 600 seconds")
    return SmtpTarget(parts.hostname, port, security, username, password, cafile, timeout)


class MailDeliveryError(Exception):
    """The message was not delivered. ``permanent`` is True only when the server rejected this message or its
    recipients (a 5xx reply to MAIL, RCPT or DATA), so sending it again cannot succeed; connection, TLS and
    authentication failures are not permanent: they heal when the server or the configuration is fixed."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _address_domain(address: str, what: str) -> str:
    _name, addr = parseaddr(address)
    local, at, domain = addr.rpartition("@")
    if not (local and at and domain) or any(c.isspace() for c in addr):
        raise ValueError(f"{what} is not an e-mail address: {address!r}")
    return domain


class Mailer:
    """Sends finished messages with the configured sender; SMTP when ``smtp_url`` is set, else the outbox."""

    def __init__(self, smtp_url: str | None, outbox: Path | None, sender: str, reply_to: str | None = None):
        self.smtp = parse_smtp_url(smtp_url) if smtp_url else None
        if self.smtp is None and outbox is None:
            raise ValueError("a Mailer needs an SMTP URL or an outbox folder")
        self.outbox = outbox
        self.sender = sender
        self.domain = _address_domain(sender, "the sender (BOXOFFICE_MAIL_FROM)")
        if reply_to is not None:
            _address_domain(reply_to, "the reply-to address")
        self.reply_to = reply_to

    @property
    def mode(self) -> Literal["smtp", "outbox"]:
        return "smtp" if self.smtp else "outbox"

    def prepare(self, message: EmailMessage, *, message_id: str) -> EmailMessage:
        """Sets From, Reply-To and ``Message-ID: <message_id@sender-domain>`` (replacing any already there) and a
        Date when the message has none. Returns the same message."""
        if not MESSAGE_ID.match(message_id):
            raise ValueError(f"not a message id (see messaging.message_id_for): {message_id!r}")
        if not message["To"]:
            raise ValueError("the message has no To address")
        for name, value in (
            ("From", self.sender),
            ("Reply-To", self.reply_to),
            ("Message-ID", f"<{message_id}@{self.domain}>"),
        ):
            del message[name]
            if value is not None:
                message[name] = value
        if not message["Date"]:
            # "+0000", not formatdate()'s "-0000", which RFC 5322 reserves for "time zone unknown"
            message["Date"] = format_datetime(datetime.now(UTC))
        return message

    async def send(self, message: EmailMessage, *, message_id: str) -> str:
        """Delivers ``message`` once per ``message_id`` (see ``prepare`` for the headers it sets).

        Outbox: writes ``<message_id>.eml`` (mode 0600, in a 0700 folder) unless it exists, and returns its
        ``file://`` URI. SMTP: hands the message to the server and returns the Message-ID header; a retry after a
        lost reply sends the same Message-ID again. Raises MailDeliveryError when the server does not take it.
        """
        self.prepare(message, message_id=message_id)
        if self.smtp is None:
            assert self.outbox is not None
            path = await asyncio.to_thread(_write_once, self.outbox, f"{message_id}.eml", message.as_bytes())
            return path.resolve().as_uri()
        await _send_smtp(self.smtp, message)
        return str(message["Message-ID"])


def _write_once(folder: Path, name: str, data: bytes) -> Path:
    """``folder/name`` with ``data``, created atomically and only if absent; the folder is made private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # an existing folder too: it holds buyers' names, addresses and tickets
    final = folder / name
    if final.exists():
        return final
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")  # mkstemp creates the file 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, final)  # atomic, and refuses to replace: two racing attempts write one file
    finally:
        os.unlink(tmp)
    return final


def _permanent(error: aiosmtplib.SMTPException) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError):
        return error.code >= 500
    return False


async def _send_smtp(target: SmtpTarget, message: EmailMessage) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.security == "tls",
            start_tls=target.security == "starttls",  # True: fail if the server does not offer STARTTLS
            tls_context=target.tls_context(),
            timeout=target.timeout,
        )
    except aiosmtplib.SMTPAuthenticationError as e:
        raise MailDeliveryError(f"SMTP authentication failed at {target!r}: {e.code} {e.message}") from e
    except aiosmtplib.SMTPException as e:
        raise MailDeliveryError(f"SMTP delivery to {target!r} failed: {e}", permanent=_permanent(e)) from e
    except (OSError, ssl.SSLError) as e:  # refused connection, DNS, certificate verification
        raise MailDeliveryError(f"SMTP connection to {target!r} failed: {e}") from e
