"""Expired holds give their seats back with no request, through the worker's Schedule."""

from __future__ import annotations

import asyncio
import time

import httpx
from temporalio.client import Client

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Hold
from boxoffice.schedules import ensure_hold_expiry_schedule
from tests.harness import Tokens
from tests.helpers import availability, make_event, make_ticket_type
from tests.test_holds import assert_invariant


async def test_expired_hold_returns_seats_without_any_request(
    api: httpx.AsyncClient,
    tokens: Tokens,
    db: Database,
    temporal: Client,
    settings: Settings,
    worker: object,
    task_queue: str,
) -> None:
    settings.hold_ttl_seconds = 1
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=5)
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 3}, headers=tokens.buyer())
    assert r.status_code == 201
    hold_id = r.json()["id"]
    # A second hold that is claimed by a checkout must survive the sweep.
    r2 = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 1}, headers=tokens.buyer("bob"))
    async with db.transaction() as s:
        claimed = await s.get(Hold, r2.json()["id"])
        assert claimed is not None
        claimed.order_id = claimed.id  # any order id: the hold now belongs to a checkout
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 1

    schedule_id = f"sweeper-{task_queue}"
    await ensure_hold_expiry_schedule(temporal, task_queue=task_queue, every_seconds=1, schedule_id=schedule_id)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            # Reading availability never expires anything; only the Schedule's workflow does.
            if (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 4:
                break
            await asyncio.sleep(0.5)
        assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 4
        r = await api.get(f"/v1/holds/{hold_id}", headers=tokens.buyer())
        assert r.json()["status"] == "expired"
        assert (await api.get(f"/v1/holds/{r2.json()['id']}", headers=tokens.buyer("bob"))).json()["status"] == "active"
        await assert_invariant(db, tt["id"])
        # The sweep ran as a workflow on the Schedule: visible to operators.
        desc = await temporal.get_schedule_handle(schedule_id).describe()
        assert desc.info.num_actions >= 1
    finally:
        await temporal.get_schedule_handle(schedule_id).delete()
