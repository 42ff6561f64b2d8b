"""Delivery tests (issue 12) run their stack against a real SMTP server (aiosmtpd, plain SMTP on loopback) with a
configured sender, reply-to and order link; the S3 tests add a real S3 server (moto) on top."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxoffice.config import Settings
from tests.harness import settings_for
from tests.smtpserver import SmtpServer

SENDER = "Boxoffice Tickets <tickets@mail.example.com>"
REPLY_TO = "Help desk <help@example.com>"
ORDER_URL = "https://tickets.example.com/orders/{order_id}"


def delivery_settings(tmp_path: Path, pg_url: str, task_queue: str, smtp: SmtpServer, **overrides: object) -> Settings:
    return settings_for(
        tmp_path,
        pg_url,
        task_queue,
        smtp_url=smtp.url(),
        mail_from=SENDER,
        mail_reply_to=REPLY_TO,
        order_url=ORDER_URL,
        **overrides,
    )


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, task_queue: str, smtp_plain: SmtpServer) -> Settings:
    return delivery_settings(tmp_path, pg_url, task_queue, smtp_plain)
