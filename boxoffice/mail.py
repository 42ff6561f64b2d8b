"""Outgoing e-mail: real SMTP when ``BOXOFFICE_SMTP_URL`` is set, else ``.eml`` files in the outbox folder."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlparse


class Mailer:
    def __init__(self, smtp_url: str | None, outbox: Path, sender: str = "Boxoffice <tickets@boxoffice.local>"):
        self.smtp_url, self.outbox, self.sender = smtp_url, outbox, sender

    async def send(self, msg: EmailMessage, *, message_id: str) -> str:
        """Send once per ``message_id`` into the outbox; SMTP delivery is at-least-once (idempotent Message-ID)."""
        msg["From"] = self.sender
        msg["Message-ID"] = f"<{message_id}@boxoffice>"
        if not self.smtp_url:
            path = self.outbox / f"{message_id}.eml"
            await asyncio.to_thread(self._write, path, bytes(msg))
            return path.resolve().as_uri()
        await asyncio.to_thread(self._smtp, msg)
        return f"smtp:{msg['To']}"

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def _smtp(self, msg: EmailMessage) -> None:
        u = urlparse(self.smtp_url or "")
        cls = smtplib.SMTP_SSL if u.scheme == "smtps" else smtplib.SMTP
        with cls(u.hostname or "localhost", u.port or (465 if u.scheme == "smtps" else 25), timeout=30) as smtp:
            if u.scheme == "smtp+starttls":
                smtp.starttls()
            if u.username:
                smtp.login(unquote(u.username), unquote(u.password or ""))
            smtp.send_message(msg)
