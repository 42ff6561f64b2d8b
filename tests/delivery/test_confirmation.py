"""The confirmation e-mail (issue 12): one per order, with the PDF, rendered per event, over real SMTP (aiosmtpd),
exactly once even when the send step is retried."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput, MessageResult
from boxoffice.models import SentMessage
from tests.delivery.shop import STARTS, about, attachment, buy, message_id, open_sale, parts, pdf_pages, received
from tests.harness import Tokens
from tests.smtpserver import Recorder, SmtpServer

pytestmark = pytest.mark.usefixtures("worker")


async def test_one_confirmation_per_order_with_the_pdf_and_every_detail(
    api: httpx.AsyncClient, tokens: Tokens, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    sale = await open_sale(api, tokens)
    people = [{"name": "Thandi Mokoena", "email": "thandi@example.com"}, {"name": "Sipho Dlamini", "email": "s@x.org"}]
    order = await buy(api, tokens, sale, attendees=people)
    oid = order["id"]

    (msg,) = await received(smtp_plain, 1)
    # Headers: stable Message-ID from the cause, a Date, the configured sender and reply-to, the buyer.
    assert message_id(msg) == f"<confirmation.{oid}@mail.example.com>"
    assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None
    assert parseaddr(str(msg["From"])) == ("Boxoffice Tickets", "tickets@mail.example.com")
    assert parseaddr(str(msg["Reply-To"])) == ("Help desk", "help@example.com")
    assert parseaddr(str(msg["To"])) == ("Alice", "alice@example.com")
    assert str(msg["Subject"]) == "Your tickets for Jazz on the Lawn"

    text, html = parts(msg)
    assert html.lstrip().startswith("<!DOCTYPE html>")
    # The local date and time where the event is (17:30 UTC is 19:30 in Cape Town), written for locale "en".
    local = STARTS.astimezone(ZoneInfo("Africa/Johannesburg"))
    when = f"{local:%A}, {local:%B} {local.day}, {local.year}, 7:30\u202fPM SAST"
    codes = [t["ticket_code"] for t in order["tickets"]]
    for needle in ["Jazz on the Lawn", "Kirstenbosch Gardens, Cape Town", when, "General admission", *codes]:
        assert needle in text and needle in html, needle
    for person in people:
        assert person["name"] in text and person["name"] in html
    assert "Total paid: ZAR\u00a0300.00" in text and "ZAR\u00a0150.00" in text
    assert f"https://tickets.example.com/orders/{oid}" in text
    assert f'href="https://tickets.example.com/orders/{oid}"' in html

    # The PDF attached is the one stored, and one page per ticket with the attendee on it.
    pdf = attachment(msg)
    r = await api.get(f"/v1/orders/{oid}/tickets.pdf", headers=tokens.buyer())
    assert r.status_code == 200 and r.content == pdf
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) == 2
    assert [p for p in pages if "Thandi Mokoena" in p] and [p for p in pages if "Sipho Dlamini" in p]


async def test_a_second_run_for_the_same_cause_sends_nothing(
    api: httpx.AsyncClient, tokens: Tokens, smtp_plain: SmtpServer, temporal: Client, settings: Any
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    await received(smtp_plain, 1)
    again = MessageInput(kind="confirmation", order_id=order["id"], key=order["id"])
    workflow_id = await send_message(temporal, again, task_queue=settings.documents_task_queue)
    result = await temporal.get_workflow_handle(workflow_id, result_type=MessageResult).result()
    assert result.status == "already_sent"
    assert result.message_id == f"confirmation.{order['id']}"
    assert len(smtp_plain.received) == 1


@pytest.fixture
async def marker_write_fails_once(db: Database) -> AsyncIterator[str]:
    """A PostgreSQL trigger that makes the first write of a sent-marker fail (a real failure of the database
    write, after the message went out); the sequence counts the attempts."""
    seq = f"marker_attempts_{uuid.uuid4().hex[:8]}"
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SEQUENCE {seq}")
        await conn.exec_driver_sql(
            f"""CREATE FUNCTION {seq}_fn() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF nextval('{seq}') = 1 THEN RAISE EXCEPTION 'sent-marker write broken for this test'; END IF;
              RETURN NEW;
            END $$"""
        )
        await conn.exec_driver_sql(
            f"CREATE TRIGGER {seq}_tr BEFORE INSERT ON sent_messages FOR EACH ROW EXECUTE FUNCTION {seq}_fn()"
        )
    try:
        yield seq
    finally:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f"DROP TRIGGER {seq}_tr ON sent_messages")
            await conn.exec_driver_sql(f"DROP FUNCTION {seq}_fn()")
            await conn.exec_driver_sql(f"DROP SEQUENCE {seq}")


async def test_marker_write_failing_after_the_send_sends_no_second_message(
    api: httpx.AsyncClient, tokens: Tokens, smtp_plain: SmtpServer, db: Database, marker_write_fails_once: str
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    # Fulfilled means the run's steps are done: marking the order comes after the send and the marker steps.
    confirmations = [r.message for r in smtp_plain.received if about("confirmation.")(r.message)]
    assert len(confirmations) == 1
    async with db.engine.connect() as conn:
        attempts = (await conn.exec_driver_sql(f"SELECT last_value FROM {marker_write_fails_once}")).scalar_one()
    assert attempts == 2  # the first marker write failed after sending; the second (its own step) succeeded
    async with db.session() as s:
        marker = await s.get(SentMessage, f"confirmation:{order['id']}")
    assert marker is not None and marker.message_id == f"confirmation.{order['id']}"


class RefusesFirst(Recorder):
    """A mail server that answers the first message with a temporary failure (451), then accepts."""

    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused == 0:
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_plain() -> Any:
    """This module's plain SMTP server; the retry test swaps in a handler that refuses once."""
    with SmtpServer("plain") as server:
        yield server


async def test_send_step_retried_after_a_temporary_refusal_delivers_once(
    api: httpx.AsyncClient, tokens: Tokens, smtp_plain: SmtpServer
) -> None:
    flaky = RefusesFirst()
    smtp_plain.controller.handler = flaky  # the handler of every new SMTP session from now on
    smtp_plain.recorder = flaky
    order = await buy(api, tokens, await open_sale(api, tokens))  # fulfilled: every step of the run is done
    assert flaky.refused == 1
    (msg,) = [r.message for r in flaky.received]
    assert message_id(msg) == f"<confirmation.{order['id']}@mail.example.com>"
    assert attachment(msg).startswith(b"%PDF")
