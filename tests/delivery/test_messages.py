"""Refund, cancellation, void and re-sent messages (issue 12) over real SMTP, and the order's PDF re-rendered with
refunded and voided tickets marked (their QR codes gone)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput, MessageResult
from boxoffice.models import Ticket
from boxoffice.models.states import TicketStatus
from boxoffice.refunds.contract import RefundProgress
from tests.checkout_helpers import press, wait_order
from tests.delivery.shop import (
    about,
    attachment,
    buy,
    message_id,
    open_sale,
    parts,
    pdf_pages,
    pdf_qr_codes,
    received,
    start_order,
)
from tests.harness import Tokens
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.usefixtures("worker")


async def _refund(api: httpx.AsyncClient, tokens: Tokens, temporal: Client, order_id: str, **body: Any) -> str:
    r = await api.post(f"/v1/orders/{order_id}/refunds", json=body, headers=tokens.admin())
    assert r.status_code == 202, r.text
    refund_id: str = r.json()["refund_id"]
    progress = await asyncio.wait_for(
        temporal.get_workflow_handle(f"refund-{refund_id}", result_type=RefundProgress).result(), 60
    )
    assert progress.state == "succeeded"
    return refund_id


async def _message_run(temporal: Client, workflow_id: str) -> MessageResult:
    return await asyncio.wait_for(temporal.get_workflow_handle(workflow_id, result_type=MessageResult).result(), 60)


async def test_partial_then_full_refund_each_sends_one_message_and_marks_the_pdf(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    first, second = order["tickets"]
    refund_id = await _refund(api, tokens, temporal, order["id"], ticket_ids=[first["id"]], reason="cannot come")
    await _message_run(temporal, f"message-refund-{refund_id}")

    (msg,) = await received(smtp_plain, 1, about(f"refund.{refund_id}"))
    assert str(msg["Subject"]) == "Refund of ZAR\u00a0150.00 for Jazz on the Lawn"
    text, html = parts(msg)
    for needle in ["Part of your order has been refunded", "ZAR\u00a0150.00", first["ticket_code"], "Refunded"]:
        assert needle in text and needle in html, needle
    assert "Your other ticket remains valid" in text
    assert [p for p in msg.iter_attachments()] == []

    # The stored PDF was re-rendered: the refunded ticket's page is marked and has no QR code; the other is intact.
    pdf = (await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())).content
    pages, codes = pdf_pages(pdf, tmp_path), pdf_qr_codes(pdf, tmp_path)
    marked = [i for i, page in enumerate(pages) if "REFUNDED" in page]
    assert len(pages) == 2 and len(marked) == 1
    assert first["ticket_code"] in pages[marked[0]] and codes[marked[0]] == []
    valid = 1 - marked[0]
    assert second["ticket_code"] in pages[valid] and "REFUNDED" not in pages[valid]
    ticket = (await api.get(f"/v1/tickets/{second['id']}", headers=tokens.buyer())).json()
    assert codes[valid] == [ticket["qr_payload"]]

    # The rest: a second cause, a second message, for the whole order now.
    rest = await _refund(api, tokens, temporal, order["id"])
    await _message_run(temporal, f"message-refund-{rest}")
    (full,) = await received(smtp_plain, 1, about(f"refund.{rest}"))
    assert "Your order has been refunded" in parts(full)[0]
    assert len(await received(smtp_plain, 2, about("refund."))) == 2


@pytest.mark.parametrize(
    ("how", "reason"), [("decline", "The payment was declined."), ("cancel", "You cancelled the payment.")]
)
async def test_cancelled_before_payment_says_seats_released_and_nothing_charged(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, smtp_plain: SmtpServer, how: str, reason: str
) -> None:
    sale = await open_sale(api, tokens)
    started = await start_order(api, tokens, sale)
    if how == "decline":
        await press(api, started["payment_url"], "decline")
    else:
        r = await api.post(f"/v1/orders/{started['order_id']}/cancel", headers=tokens.buyer())
        assert r.status_code == 200, r.text
    order = await wait_order(api, tokens.buyer(), started["order_id"], lambda o: o["status"] == "cancelled")
    assert order["status"] == "cancelled"
    result = await _message_run(temporal, f"message-cancellation-{order['id']}")
    assert result.status == "sent"

    (msg,) = await received(smtp_plain, 1, about(f"cancellation.{order['id']}"))
    assert str(msg["Subject"]) == "Your order for Jazz on the Lawn was cancelled"
    text, html = parts(msg)
    for needle in ["was cancelled before it was paid", "seats you held have been released", reason]:
        assert needle in text and needle in html, needle
    assert "No payment was taken" in text and "nothing to refund" in text
    assert "ZAR\u00a0300.00" in text  # the order total, marked as not charged
    assert len(smtp_plain.received) == 1  # no confirmation: nothing was sold


async def test_void_message_and_the_voided_ticket_marked_in_the_pdf(
    api: httpx.AsyncClient,
    tokens: Tokens,
    temporal: Client,
    smtp_plain: SmtpServer,
    db: Database,
    settings: Any,
    tmp_path: Path,
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    voided = order["tickets"][1]
    async with db.transaction() as s:  # the gate's void (another flow): the ticket becomes voided
        ticket = await s.get(Ticket, uuid.UUID(voided["id"]))
        assert ticket is not None
        ticket.status = TicketStatus.VOIDED
    inp = MessageInput(kind="void", order_id=order["id"], key=voided["id"], reason="Resold above face value.")
    workflow_id = await send_message(
        temporal, MessageInput(**{**inp.__dict__, "refresh_pdf": True}), task_queue=settings.documents_task_queue
    )
    assert workflow_id == f"message-void-{voided['id']}"
    assert (await _message_run(temporal, workflow_id)).status == "sent"

    (msg,) = await received(smtp_plain, 1, about(f"void.{voided['id']}"))
    text, html = parts(msg)
    for needle in [voided["ticket_code"], "Resold above face value.", "can no longer be used for entry"]:
        assert needle in text and needle in html, needle
    pdf = (await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())).content
    pages = pdf_pages(pdf, tmp_path)
    (page,) = [p for p in pages if voided["ticket_code"] in p]
    assert "VOID" in page and "not valid for entry" in page


async def test_org_admin_resends_the_tickets_once_per_request_or_key(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, smtp_plain: SmtpServer
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    url = f"/v1/orders/{order['id']}/resend"
    assert (await api.post(url, headers=tokens.buyer())).status_code == 403
    assert (await api.post(url, headers=tokens.admin(org="org2"))).status_code == 404

    keyed = {**tokens.admin(), "Idempotency-Key": "support-ticket-42"}
    first = await api.post(url, headers=keyed)
    again = await api.post(url, headers=keyed)
    plain = await api.post(url, headers=tokens.admin())
    assert first.status_code == again.status_code == plain.status_code == 202, first.text
    assert first.json()["workflow_id"] == again.json()["workflow_id"] != plain.json()["workflow_id"]
    for reply in (first, plain):
        assert (await _message_run(temporal, reply.json()["workflow_id"])).status == "sent"

    resent = await received(smtp_plain, 2, about("resend."))
    assert sorted(message_id(m) for m in resent) == sorted(
        f"<resend.{r.json()['key']}@mail.example.com>" for r in (first, plain)
    )
    original = (await received(smtp_plain, 1, about("confirmation.")))[0]
    for msg in resent:
        assert attachment(msg) == attachment(original) and str(msg["Subject"]) == str(original["Subject"])


async def test_resend_of_an_order_without_tickets_is_refused(
    api: httpx.AsyncClient, tokens: Tokens, smtp_plain: SmtpServer
) -> None:
    started = await start_order(api, tokens, await open_sale(api, tokens))
    r = await api.post(f"/v1/orders/{started['order_id']}/resend", headers=tokens.admin())
    assert r.status_code == 409 and r.json()["code"] == "no_tickets"


async def test_event_cancellation_uses_the_cancellation_message(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, smtp_plain: SmtpServer, settings: Any
) -> None:
    """The event-cancellation flow's message: kind ``cancellation`` with reason ``event_cancelled: …``."""
    order = await buy(api, tokens, await open_sale(api, tokens))
    inp = MessageInput(kind="cancellation", order_id=order["id"], key=order["id"], reason="event_cancelled: Flooding.")
    workflow_id = await send_message(temporal, inp, task_queue=settings.documents_task_queue)
    assert (await _message_run(temporal, workflow_id)).status == "sent"
    (msg,) = await received(smtp_plain, 1, about(f"cancellation.{order['id']}"))
    assert str(msg["Subject"]) == "Jazz on the Lawn has been cancelled"
    text, html = parts(msg)
    for needle in ["the organiser has cancelled Jazz on the Lawn", "Flooding.", order["tickets"][0]["ticket_code"]]:
        assert needle in text and needle in html, needle
    assert "No payment was taken" not in text
