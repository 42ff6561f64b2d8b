"""An organiser voids a ticket (free ones too): refused at every gate online and offline, its QR gone (410), its
seat back on sale, its buyer's message run started once, by the route or, when Temporal was down, by the sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col
from temporalio.client import Client

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.gate.contract import SweepInput, SweepResult
from boxoffice.models import Ticket, TicketType, TicketVoid
from boxoffice.ticketing.bundle import OfflineGate
from tests.gate.helpers import bundle, buy, scan
from tests.gate.stack import issue, replica
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type


async def sold_is_live(db: Database, ticket_type_id: str) -> tuple[int, int]:
    """The ticket type's ``sold`` and its live tickets (active, scanned, used): the books' inventory invariant."""
    async with db.session() as s:
        tt = await s.get(TicketType, uuid.UUID(ticket_type_id))
        assert tt is not None
        live = await s.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(col(Ticket.ticket_type_id) == tt.id, col(Ticket.status).in_(["active", "scanned", "used"]))
        )
        return tt.sold, int(live or 0)


async def test_void_a_free_ticket(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, temporal: Client, worker: Any
) -> None:
    sale = await buy(api, tokens, qty=2)
    voided, kept = sale.tickets
    ev, admin, gate = sale.event["id"], tokens.admin(), tokens.scanner()
    tt = sale.ticket_type["id"]
    assert (await availability(api, admin, ev))[tt]["available"] == 18
    assert (await scan(api, gate, ev, "A", payload=voided["qr_payload"]))["result"] == "admitted"  # then voided

    r = await api.post(f"/v1/tickets/{voided['id']}/void", json={"reason": "duplicate booking"}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["reason"], body["voided_by"], body["buyer_notified"]) == (
        "voided",
        "duplicate booking",
        "admin",
        True,
    )
    assert body["message_workflow_id"] == f"message-void-{voided['id']}"
    run = await temporal.get_workflow_handle(body["message_workflow_id"]).describe()
    assert run.workflow_type == "MessageWorkflow"

    # Refused at every gate, online (even the gate that admitted it) and with a fresh bundle offline.
    for g in ("A", "B"):
        refused = await scan(api, gate, ev, g, payload=voided["qr_payload"])
        assert (refused["result"], refused["reason"]) == ("revoked", "voided")
    assert (await scan(api, gate, ev, "B", ticket_code=voided["ticket_code"]))["result"] == "revoked"
    offline = OfflineGate(await bundle(api, gate, ev))
    assert offline.verify(voided["qr_payload"], datetime.now(UTC)).reason == "revoked"
    assert offline.verify(kept["qr_payload"], datetime.now(UTC)).valid
    assert (await scan(api, gate, ev, "B", payload=kept["qr_payload"]))["result"] == "admitted"

    qr = await api.get(f"/v1/tickets/{voided['id']}/qr.svg", headers=tokens.buyer())
    assert (qr.status_code, qr.json()["code"]) == (410, "ticket_revoked")
    assert (await api.get(f"/v1/tickets/{kept['id']}/qr.svg", headers=tokens.buyer())).status_code == 200
    assert (await api.get(f"/v1/tickets/{voided['id']}", headers=admin)).json()["status"] == "voided"
    # The seat is back on sale; the order stays as it was.
    assert (await availability(api, admin, ev))[tt]["available"] == 19
    assert await sold_is_live(db, tt) == (1, 1)
    order = (await api.get(f"/v1/orders/{sale.order['id']}", headers=admin)).json()
    assert order["status"] in ("paid", "fulfilled")  # fulfilment may have finished meanwhile; a void moves nothing
    assert (order["payment_status"], order["total_amount"]) == (sale.order["payment_status"], 0)

    # Voiding again answers the first void and changes nothing.
    again = await api.post(f"/v1/tickets/{voided['id']}/void", json={"reason": "other"}, headers=admin)
    assert again.status_code == 200 and again.json()["voided_at"] == body["voided_at"]
    assert again.json()["reason"] == "duplicate booking"
    assert (await availability(api, admin, ev))[tt]["available"] == 19


async def test_void_refusals_change_nothing(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens)
    ticket = sale.tickets[0]["id"]
    cases: list[tuple[dict[str, str], Any, int, str]] = [
        (tokens.buyer(), {"reason": "x"}, 403, "wrong_role"),
        (tokens.scanner(), {"reason": "x"}, 403, "wrong_role"),
        (tokens.admin(org="org2"), {"reason": "x"}, 404, "ticket_not_found"),
        (tokens.admin(), {"reason": "   "}, 422, "validation_error"),
        (tokens.admin(), {}, 422, "validation_error"),
    ]
    for headers, body, status, code in cases:
        r = await api.post(f"/v1/tickets/{ticket}/void", json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    missing = await api.post(f"/v1/tickets/{uuid.uuid4()}/void", json={"reason": "x"}, headers=tokens.admin())
    assert missing.status_code == 404
    assert (await api.get(f"/v1/tickets/{ticket}", headers=tokens.admin())).json()["status"] == "active"


async def test_the_sweep_tells_the_buyer_when_temporal_was_down(
    settings: Settings, db: Database, tokens: Tokens, temporal: Client, worker: Any, task_queue: str
) -> None:
    # The API replica's Temporal is unreachable: the void stands, the message waits for the sweep.
    async with replica(settings, db, temporal_address="127.0.0.1:1") as (_, down):
        sale = await _free_sale_via(down, tokens, db, settings)
        r = await down.post(f"/v1/tickets/{sale}/void", json={"reason": "fraud"}, headers=tokens.admin())
        assert r.status_code == 200, r.text
        assert (r.json()["buyer_notified"], r.json()["message_workflow_id"]) == (False, None)
    async with db.session() as s:
        void = await s.get(TicketVoid, uuid.UUID(sale))
        assert void is not None and void.notified_at is None

    result: SweepResult = await temporal.execute_workflow(
        "CheckinSweepWorkflow", SweepInput(), id=f"sweep-{uuid.uuid4()}", task_queue=task_queue, result_type=SweepResult
    )
    assert (result.notified, result.failed) == (1, 0)
    async with db.session() as s:
        void = await s.get(TicketVoid, uuid.UUID(sale))
        assert void is not None and void.notified_at is not None
    run = await temporal.get_workflow_handle(f"message-void-{sale}").describe()
    assert run.workflow_type == "MessageWorkflow"
    again: SweepResult = await temporal.execute_workflow(
        "CheckinSweepWorkflow", SweepInput(), id=f"sweep-{uuid.uuid4()}", task_queue=task_queue, result_type=SweepResult
    )
    assert again.notified == 0


async def _free_sale_via(client: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings) -> str:
    """One free ticket issued into a paid order, through ``client``'s catalogue; its id."""
    event = await make_event(client, tokens.admin())
    tt = await make_ticket_type(client, tokens.admin(), event["id"], pricing_model="free", base_price_cents=0)
    [ticket] = await issue(db, settings, tt["id"], 1)
    return ticket
