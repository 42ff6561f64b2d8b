"""Attendees that add up (issue 12): the list must match the tickets (422 otherwise, changing nothing); the
organiser's list and CSV export with check-in state; orders found by buyer e-mail; a buyer's correction of an
attendee's name before the event re-issues the order's PDF, once."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.fulfilment.contract import MessageResult
from boxoffice.models import Hold, Order, Ticket
from boxoffice.models.states import TicketStatus
from tests.checkout_helpers import checkout, hold
from tests.delivery.shop import about, attachment, buy, open_sale, parts, pdf_pages, received
from tests.harness import Tokens
from tests.helpers import availability, iso
from tests.smtpserver import SmtpServer

ANN = {"name": "Ann Achebe", "email": "ann@example.com"}
BOB = {"name": "Bob Botha", "email": "bob@example.com"}
EVE = {"name": "Eve Essop", "email": "eve@example.com"}


@pytest.mark.parametrize("people", [[ANN], [ANN, BOB, EVE]], ids=["too-few", "too-many"])
async def test_attendee_list_must_match_the_tickets(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, people: list[dict[str, str]]
) -> None:
    sale = await open_sale(api, tokens)
    held = await hold(api, tokens, sale.ticket_type["id"], 2)
    before = await availability(api, tokens.buyer(), sale.event["id"])
    r = await checkout(api, tokens, [held], attendees=people)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "attendees_mismatch" and problem["tickets"] == 2 and problem["attendees"] == len(people)
    # Refused before anything started: no order, the hold untouched, availability unchanged.
    async with db.session() as s:
        assert (await s.execute(select(Order))).first() is None
        row = await s.get(Hold, uuid.UUID(held))
        assert row is not None and row.status == "active" and row.order_id is None
    assert await availability(api, tokens.buyer(), sale.event["id"]) == before


async def _sold_event(api: httpx.AsyncClient, tokens: Tokens) -> tuple[Any, list[dict[str, Any]]]:
    sale = await open_sale(api, tokens)
    first = await buy(api, tokens, sale, attendees=[BOB, ANN])
    second = await buy(api, tokens, sale, qty=1, user="carol")  # no attendees: the ticket is the buyer's
    return sale, [first, second]


@pytest.mark.usefixtures("worker")
async def test_organiser_lists_and_exports_the_attendees(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    sale, (first, second) = await _sold_event(api, tokens)
    url = f"/v1/events/{sale.event['id']}/attendees"
    # Check-in state comes from the ticket (the gate's scan, simulated here on the row).
    scanned = first["tickets"][0]["id"]
    async with db.transaction() as s:
        t = await s.get(Ticket, uuid.UUID(scanned))
        assert t is not None
        t.status, t.scanned_at, t.scan_count, t.last_gate_id = TicketStatus.SCANNED, datetime.now(UTC), 1, "north"

    r = await api.get(url, headers=tokens.admin())
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [(a["attendee_name"], a["attendee_email"]) for a in rows] == [
        ("Ann Achebe", "ann@example.com"),
        ("Bob Botha", "bob@example.com"),
        ("Carol", "carol@example.com"),
    ]
    codes = {t["id"]: t["ticket_code"] for o in (first, second) for t in o["tickets"]}
    assert {a["ticket_id"]: a["ticket_code"] for a in rows} == codes
    assert all(a["ticket_type_name"] == "General admission" for a in rows)
    by_ticket = {a["ticket_id"]: a for a in rows}
    assert by_ticket[scanned]["checked_in"] and by_ticket[scanned]["last_gate_id"] == "north"
    assert by_ticket[scanned]["ticket_status"] == "scanned" and by_ticket[scanned]["scan_count"] == 1
    assert sum(a["checked_in"] for a in rows) == 1
    assert {a["buyer_email"] for a in rows} == {"alice@example.com", "carol@example.com"}

    page = (await api.get(url, params={"limit": 1, "offset": 1}, headers=tokens.admin())).json()
    assert [a["ticket_id"] for a in page] == [rows[1]["ticket_id"]]
    only = (await api.get(url, params={"status": "scanned"}, headers=tokens.admin())).json()
    assert [a["ticket_id"] for a in only] == [scanned]
    assert (await api.get(url, headers=tokens.buyer())).status_code == 403
    assert (await api.get(url, headers=tokens.admin(org="org2"))).status_code == 404

    export = await api.get(f"{url}.csv", headers=tokens.admin())
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [(x["attendee_name"], x["ticket_code"], x["checked_in"]) for x in table] == [
        (a["attendee_name"], a["ticket_code"], "yes" if a["checked_in"] else "no") for a in rows
    ]
    assert {x["ticket_status"] for x in table} == {"active", "scanned"}
    assert (await api.get(f"{url}.csv", headers=tokens.admin(org="org2"))).status_code == 404


@pytest.mark.usefixtures("worker")
async def test_csv_cells_cannot_become_spreadsheet_formulas(api: httpx.AsyncClient, tokens: Tokens) -> None:
    sale = await open_sale(api, tokens)
    evil = {"name": '=HYPERLINK("http://evil.example","Click")', "email": "x@example.com"}
    await buy(api, tokens, sale, qty=1, attendees=[evil])
    export = await api.get(f"/v1/events/{sale.event['id']}/attendees.csv", headers=tokens.admin())
    (row,) = list(csv.DictReader(io.StringIO(export.text)))
    assert row["attendee_name"] == "'" + evil["name"]


@pytest.mark.usefixtures("worker")
async def test_orders_found_by_buyer_email(api: httpx.AsyncClient, tokens: Tokens) -> None:
    _sale, (first, second) = await _sold_event(api, tokens)
    found = await api.get("/v1/orders", params={"email": "  CAROL@Example.com "}, headers=tokens.admin())
    assert found.status_code == 200 and [o["id"] for o in found.json()] == [second["id"]]
    mine = await api.get("/v1/orders", params={"email": "carol@example.com"}, headers=tokens.buyer("alice"))
    assert mine.json() == []  # a buyer searches only their own orders
    other_org = await api.get("/v1/orders", params={"email": "alice@example.com"}, headers=tokens.admin(org="org2"))
    assert other_org.json() == []
    assert first["tickets"][0]["attendee_email"] in ("ann@example.com", "bob@example.com")


@pytest.mark.usefixtures("worker")
async def test_buyer_corrects_an_attendee_and_the_pdf_is_reissued_once(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens), attendees=[ANN, BOB])
    ticket = next(t for t in order["tickets"] if t["attendee_name"] == "Bob Botha")
    url = f"/v1/tickets/{ticket['id']}/attendee"
    assert (await api.patch(url, json={"name": "Robert Botha"}, headers=tokens.buyer("mallory"))).status_code == 404
    assert (await api.patch(url, json={"name": "  "}, headers=tokens.buyer())).status_code == 422

    r = await api.patch(url, json={"name": "Robert Botha"}, headers=tokens.buyer())
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert fixed["attendee_name"] == "Robert Botha" and fixed["attendee_email"] == "bob@example.com"
    handle = temporal.get_workflow_handle(fixed["message_workflow_id"], result_type=MessageResult)
    assert (await asyncio.wait_for(handle.result(), 60)).status == "sent"

    (msg,) = await received(smtp_plain, 1, about("tickets_updated."))
    assert str(msg["Subject"]) == "Updated tickets for Jazz on the Lawn"
    text, _html = parts(msg)
    assert "Robert Botha" in text and "Bob Botha" not in text and ticket["ticket_code"] in text
    pages = pdf_pages(attachment(msg), tmp_path)
    (page,) = [p for p in pages if ticket["ticket_code"] in p]  # the same code: nothing re-signed
    assert "Robert Botha" in page
    stored = (await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())).content
    assert stored == attachment(msg)
    after = (await api.get(f"/v1/orders/{order['id']}", headers=tokens.buyer())).json()
    assert {t["attendee_name"] for t in after["tickets"]} == {"Ann Achebe", "Robert Botha"}

    # The same request again: nothing changes, the same run (already done), no second message.
    again = await api.patch(url, json={"name": "Robert Botha"}, headers=tokens.buyer())
    assert again.json()["message_workflow_id"] == fixed["message_workflow_id"]
    assert len(await received(smtp_plain, 1, about("tickets_updated."))) == 1


@pytest.mark.usefixtures("worker")
async def test_no_correction_once_the_event_started_or_the_ticket_is_revoked(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    now = datetime.now(UTC)
    started = await open_sale(
        api, tokens, starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=2))
    )
    order = await buy(api, tokens, started, qty=1)
    r = await api.patch(f"/v1/tickets/{order['tickets'][0]['id']}/attendee", json={"name": "X"}, headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "event_started"

    later = await buy(api, tokens, await open_sale(api, tokens), qty=1)
    tid = later["tickets"][0]["id"]
    async with db.transaction() as s:
        t = await s.get(Ticket, uuid.UUID(tid))
        assert t is not None
        t.status = TicketStatus.VOIDED
    r = await api.patch(f"/v1/tickets/{tid}/attendee", json={"name": "X"}, headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "ticket_not_active"
