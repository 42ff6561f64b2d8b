"""Check-in policies: single entry (default) and re-entry after an exit scan, per event and per ticket type, set on
create and PATCH; admitted tickets become used once the event has ended (the check-in sweep's Schedule)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.gate.contract import SweepInput, SweepResult
from boxoffice.models import Event
from boxoffice.schedules import ensure_schedule
from tests.gate.helpers import buy, scan
from tests.harness import Tokens
from tests.helpers import make_event


async def test_single_entry_lets_out_but_not_back_in(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens)
    ev, payload, gate = sale.event["id"], sale.tickets[0]["qr_payload"], tokens.scanner()
    assert sale.event["checkin_policy"] == "single_entry"

    never = await scan(api, gate, ev, "out", payload=payload, direction="exit")
    assert (never["result"], never["reason"]) == ("not_inside", "never_admitted")
    assert (await scan(api, gate, ev, "in", payload=payload))["result"] == "admitted"
    out = await scan(api, gate, ev, "out", payload=payload, direction="exit")
    assert (out["result"], out["inside"], out["direction"]) == ("exited", False, "exit")
    back = await scan(api, gate, ev, "in-2", payload=payload)
    assert (back["result"], back["reason"], back["scan_count"]) == ("already_admitted", "reentry_not_allowed", 1)
    # The exit gate re-reading its exit is told the same again; another exit gate is told the ticket is out.
    replay = await scan(api, gate, ev, "out", payload=payload, direction="exit")
    assert (replay["result"], replay["replayed"]) == ("exited", True)
    assert (await scan(api, gate, ev, "out-2", payload=payload, direction="exit"))["result"] == "not_inside"


async def test_reentry_after_exit(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin, checkin_policy="reentry")
    assert event["checkin_policy"] == "reentry"
    sale = await buy(api, tokens, event)
    ev, payload, gate = event["id"], sale.tickets[0]["qr_payload"], tokens.scanner()

    assert (await scan(api, gate, ev, "in", payload=payload))["scan_count"] == 1
    inside = await scan(api, gate, ev, "in-2", payload=payload)
    assert inside["result"] == "already_admitted" and inside["reason"] is None  # still inside: no second entry
    assert (await scan(api, gate, ev, "out", payload=payload, direction="exit"))["result"] == "exited"
    again = await scan(api, gate, ev, "in-2", payload=payload)
    assert (again["result"], again["scan_count"], again["first_gate_id"], again["last_gate_id"]) == (
        "admitted",
        2,
        "in",
        "in-2",
    )
    assert again["first_scanned_at"] < again["last_scanned_at"]


async def test_policy_per_ticket_type_and_patch(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)  # single entry
    vip = await buy(api, tokens, event, checkin_policy="reentry")
    assert vip.ticket_type["checkin_policy"] == "reentry"
    ga = await buy(api, tokens, event)
    assert ga.ticket_type["checkin_policy"] is None
    ev, gate = event["id"], tokens.scanner()

    async def in_out_in(payload: str) -> str:
        await scan(api, gate, ev, "in", payload=payload)
        await scan(api, gate, ev, "out", payload=payload, direction="exit")
        return str((await scan(api, gate, ev, "in-2", payload=payload))["result"])

    assert await in_out_in(vip.tickets[0]["qr_payload"]) == "admitted"
    assert await in_out_in(ga.tickets[0]["qr_payload"]) == "already_admitted"

    # The event's policy changes for every type that follows it; a type's own can be cleared with null.
    r = await api.patch(f"/v1/events/{ev}", json={"checkin_policy": "reentry"}, headers=admin)
    assert r.status_code == 200 and r.json()["checkin_policy"] == "reentry"
    await scan(api, gate, ev, "out", payload=ga.tickets[0]["qr_payload"], direction="exit")  # already out: no-op
    assert (await scan(api, gate, ev, "in-3", payload=ga.tickets[0]["qr_payload"]))["result"] == "admitted"
    r = await api.patch(f"/v1/ticket-types/{vip.ticket_type['id']}", json={"checkin_policy": None}, headers=admin)
    assert r.status_code == 200 and r.json()["checkin_policy"] is None
    bad = await api.patch(f"/v1/events/{ev}", json={"checkin_policy": "twice"}, headers=admin)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    assert (await api.get(f"/v1/events/{ev}", headers=admin)).json()["checkin_policy"] == "reentry"
    other = await api.patch(f"/v1/events/{ev}", json={"checkin_policy": "single_entry"}, headers=tokens.admin(org="x"))
    assert other.status_code == 404


async def test_admitted_tickets_become_used_after_the_event(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, temporal: Client, worker: Any, task_queue: str
) -> None:
    sale = await buy(api, tokens, qty=3)
    ev, gate = sale.event["id"], tokens.scanner()
    first, second, third = sale.tickets
    await scan(api, gate, ev, payload=first["qr_payload"])
    await scan(api, gate, ev, payload=second["qr_payload"])

    # Before the event ends, the sweep leaves admitted tickets alone.
    result: SweepResult = await temporal.execute_workflow(
        "CheckinSweepWorkflow", SweepInput(), id=f"sweep-{uuid.uuid4()}", task_queue=task_queue, result_type=SweepResult
    )
    assert result.used == 0
    async with db.transaction() as s:  # the event ends
        await s.execute(
            update(Event)
            .where(col(Event.id) == uuid.UUID(ev))
            .values(starts_at=datetime.now(UTC) - timedelta(hours=3), ends_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    schedule_id = f"checkin-{task_queue}"
    await ensure_schedule(
        temporal, schedule_id, "CheckinSweepWorkflow", SweepInput(), task_queue=task_queue, every_seconds=1
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = [
                (await api.get(f"/v1/tickets/{t['id']}", headers=tokens.admin())).json()["status"] for t in sale.tickets
            ]
            if statuses == ["used", "used", "active"]:
                break
            await asyncio.sleep(0.5)
        assert statuses == ["used", "used", "active"]
        assert (await temporal.get_schedule_handle(schedule_id).describe()).info.num_actions >= 1
    finally:
        await temporal.get_schedule_handle(schedule_id).delete()
    # A used ticket is still told apart at the gate: already admitted, never admitted again.
    again = await scan(api, gate, ev, "another-gate", payload=first["qr_payload"])
    assert (again["result"], again["scan_count"]) == ("already_admitted", 1)
    # A ticket never scanned can still get in while valid (the event's end + 7 days), and is used at the next sweep.
    assert (await scan(api, gate, ev, "late", payload=third["qr_payload"]))["result"] == "admitted"
