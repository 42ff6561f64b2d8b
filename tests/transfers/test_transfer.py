"""A ticket transferred to another person through the real API, worker and Temporal server: the old QR is
``revoked`` at ``POST /v1/scans`` (and offline, with a fresh gate bundle), the new one admitted; both parties are
e-mailed (the new holder with their ticket alone as a PDF); seats, the order and the books are as they were."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.ticketing.bundle import OfflineGate
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.delivery.shop import attachment, parts, pdf_pages
from tests.gate.helpers import bundle, scan
from tests.harness import Tokens
from tests.waitlist.helpers import counters

BOB = {"name": "Bob Guest", "email": "bob.guest@example.com"}


async def paid_order(api: httpx.AsyncClient, tokens: Tokens, qty: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ticket type, alice's fulfilled order with its tickets as she sees them)."""
    event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], qty)])).json()
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    tickets = [(await api.get(f"/v1/tickets/{t['id']}", headers=tokens.buyer())).json() for t in order["tickets"]]
    return {**tt, "event": event}, {**order, "tickets": tickets}


async def sent(outbox: Path, cause: str, timeout: float = 30) -> EmailMessage:
    """The message the outbox holds for ``cause`` (``transfer:<ticket id>``), once it is written."""
    path = outbox / f"{cause.replace(':', '.')}.eml"
    for _ in range(int(timeout * 10)):
        if path.exists():
            break
        await asyncio.sleep(0.1)
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(msg, EmailMessage)
    return msg


async def test_a_transfer_revokes_the_old_qr_admits_the_new_and_tells_both_parties(
    api: httpx.AsyncClient,
    tokens: Tokens,
    db: Database,
    settings: Settings,
    temporal: Client,
    worker: Any,
    tmp_path: Path,
) -> None:
    tt, order = await paid_order(api, tokens)
    given, kept = order["tickets"]
    ev, gate = tt["event"]["id"], tokens.scanner()
    seats = await counters(db, tt["id"])
    books = await assert_books_balanced(db)

    r = await api.post(f"/v1/tickets/{given['id']}/transfer", json=BOB, headers=tokens.buyer())
    assert r.status_code == 201, r.text
    moved = r.json()
    new = (await api.get(f"/v1/tickets/{moved['new_ticket']['id']}", headers=tokens.buyer())).json()
    assert (moved["ticket_id"], moved["attendee_name"], moved["attendee_email"]) == (given["id"], *BOB.values())
    assert new["id"] != given["id"] and new["ticket_code"] != given["ticket_code"]
    assert new["qr_payload"] != given["qr_payload"] and new["status"] == "active"
    assert (await api.get(f"/v1/tickets/{given['id']}", headers=tokens.buyer())).json()["status"] == "voided"

    # The gate: the old QR and code are revoked online and offline, the new one is admitted; the other is untouched.
    refused = await scan(api, gate, ev, "A", payload=given["qr_payload"])
    assert (refused["result"], refused["reason"]) == ("revoked", "voided")
    assert (await scan(api, gate, ev, "A", ticket_code=given["ticket_code"]))["result"] == "revoked"
    offline = OfflineGate(await bundle(api, gate, ev))
    assert offline.verify(given["qr_payload"], datetime.now(UTC)).reason == "revoked"
    assert offline.verify(new["qr_payload"], datetime.now(UTC)).valid
    admitted = await scan(api, gate, ev, "A", payload=new["qr_payload"])
    assert (admitted["result"], admitted["ticket_id"]) == ("admitted", new["id"])
    assert (await scan(api, gate, ev, "B", payload=kept["qr_payload"]))["result"] == "admitted"
    qr = await api.get(f"/v1/tickets/{given['id']}/qr.svg", headers=tokens.buyer())
    assert (qr.status_code, qr.json()["code"]) == (410, "ticket_revoked")

    # Both parties e-mailed: the new holder with their ticket alone, the buyer with a notice.
    assert moved["messages_started"] is True
    transfer = moved["transfer_id"]
    assert moved["message_workflow_ids"] == [
        f"message-transfer-{transfer}:holder",
        f"message-transfer-{transfer}:buyer",
    ]
    for workflow_id in moved["message_workflow_ids"]:
        assert (await temporal.get_workflow_handle(workflow_id).result())["status"] == "sent"
    theirs = await sent(settings.outbox_dir, f"transfer:{transfer}:holder")
    assert theirs["To"].addresses[0].addr_spec == BOB["email"]
    text, _html = parts(theirs)
    assert new["ticket_code"] in text and given["ticket_code"] not in text and kept["ticket_code"] not in text
    assert "checkout/complete" not in text  # the buyer's order page is the buyer's
    pages = pdf_pages(attachment(theirs), tmp_path)
    assert len(pages) == 1 and "Bob Guest" in pages[0]
    notice = await sent(settings.outbox_dir, f"transfer:{transfer}:buyer")
    assert notice["To"].addresses[0].addr_spec == "alice@example.com"
    body, _html = parts(notice)
    assert given["ticket_code"] in body and BOB["email"] in body and "no longer work" in body

    # Seats, the order and its money are as they were; the books balance.
    assert await counters(db, tt["id"]) == seats
    after = (await api.get(f"/v1/orders/{order['id']}", headers=tokens.admin())).json()
    assert (after["status"], after["total_amount"], after["payment_status"]) == (
        order["status"],
        order["total_amount"],
        order["payment_status"],
    )
    assert {t["id"]: t["status"] for t in after["tickets"]} == {
        given["id"]: "voided",
        kept["id"]: "scanned",
        new["id"]: "scanned",
    }
    assert await assert_books_balanced(db) == {**books, "tickets": int(str(books["tickets"])) + 1}


async def test_repeats_and_refusals_change_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, temporal: Client, worker: Any
) -> None:
    tt, order = await paid_order(api, tokens)
    ticket, other = order["tickets"]
    url = f"/v1/tickets/{ticket['id']}/transfer"
    refusals: list[tuple[dict[str, str], Any, int, str]] = [
        (tokens.buyer("mallory"), BOB, 404, "ticket_not_found"),
        (tokens.scanner(), BOB, 404, "ticket_not_found"),
        (tokens.admin(org="org2"), BOB, 404, "ticket_not_found"),
        (tokens.buyer(), {"name": "Bob"}, 422, "validation_error"),
        (tokens.buyer(), {**BOB, "email": "not-an-address"}, 422, "validation_error"),
        (tokens.buyer(), {**BOB, "seat": "1A"}, 422, "validation_error"),
    ]
    for headers, body, status, code in refusals:
        r = await api.post(url, json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert (await api.get(f"/v1/tickets/{ticket['id']}", headers=tokens.buyer())).json()["status"] == "active"

    first = await api.post(url, json=BOB, headers=tokens.buyer())
    assert first.status_code == 201, first.text
    again = await api.post(url, json=BOB, headers=tokens.admin())  # the same transfer: answered as it was made
    assert again.status_code == 200 and again.json()["new_ticket"] == first.json()["new_ticket"]
    elsewhere = await api.post(url, json={**BOB, "email": "carol@example.com"}, headers=tokens.buyer())
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "ticket_not_transferable")
    voided = await api.post(f"/v1/tickets/{ticket['id']}/void", json={"reason": "x"}, headers=tokens.admin())
    assert (voided.status_code, voided.json()["code"]) == (409, "ticket_not_voidable")

    # The new ticket can be transferred on; a ticket already admitted cannot.
    new_id = first.json()["new_ticket"]["id"]
    onward = await api.post(f"/v1/tickets/{new_id}/transfer", json={**BOB, "name": "Carol"}, headers=tokens.buyer())
    assert onward.status_code == 201, onward.text
    for workflow_id in first.json()["message_workflow_ids"] + onward.json()["message_workflow_ids"]:
        assert (await temporal.get_workflow_handle(workflow_id).result())["status"] == "sent"  # each its own cause
    assert (await scan(api, tokens.scanner(), tt["event"]["id"], payload=other["qr_payload"]))["result"] == "admitted"
    scanned = await api.post(f"/v1/tickets/{other['id']}/transfer", json=BOB, headers=tokens.admin())
    assert (scanned.status_code, scanned.json()["code"]) == (409, "ticket_not_transferable")
    await assert_books_balanced(db)


async def test_buyers_transfer_until_the_event_starts_organisers_until_it_ends(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    from datetime import timedelta

    from tests.helpers import iso, make_event, make_ticket_type

    admin, now = tokens.admin(), datetime.now(UTC)
    event = await make_event(api, admin, starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=2)))
    tt = await make_ticket_type(api, admin, event["id"], capacity=5, base_price_cents=5000)
    body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    await press(api, body["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), body["order_id"], lambda o: o["status"] == "fulfilled")
    ticket = order["tickets"][0]["id"]
    late = await api.post(f"/v1/tickets/{ticket}/transfer", json=BOB, headers=tokens.buyer())
    assert (late.status_code, late.json()["code"]) == (409, "transfer_closed"), late.text
    by_organiser = await api.post(f"/v1/tickets/{ticket}/transfer", json=BOB, headers=admin)
    assert by_organiser.status_code == 201, by_organiser.text
    notice = await sent(settings.outbox_dir, f"transfer:{by_organiser.json()['transfer_id']}:buyer")
    assert "The organiser transferred" in parts(notice)[0]
    await assert_books_balanced(db)
