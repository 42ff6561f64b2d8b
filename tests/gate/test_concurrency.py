"""Gates at the same moment, and API replicas over one database: on PostgreSQL and on SQLite, a ticket scanned by
several gates at once is admitted exactly once, and a replica without the replay cache answers as one with it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.models import Scan
from tests.conftest import truncate_all
from tests.gate.helpers import Clock, scan
from tests.gate.stack import issue, replica, sqlite_url
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type

GATES_PER_TICKET = 8


@pytest.fixture(params=["postgresql", "sqlite"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, task_queue: str
) -> AsyncIterator[tuple[Settings, Database]]:
    """Settings and a database of each kind, migrated to head and empty."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")  # the session's database, migrated: emptied here
        db = Database(url, pool_size=20)
        await truncate_all(db)
    else:
        url = sqlite_url(tmp_path)
        upgrade(url)
        db = Database(url)
    yield settings_for(tmp_path, url, task_queue), db
    await db.dispose()


async def _payloads(api: httpx.AsyncClient, tokens: Tokens, ids: list[str]) -> list[str]:
    return [(await api.get(f"/v1/tickets/{t}", headers=tokens.admin())).json()["qr_payload"] for t in ids]


async def test_gates_at_the_same_moment_admit_once(backend: tuple[Settings, Database], tokens: Tokens) -> None:
    settings, db = backend
    async with replica(settings, db) as (_, a), replica(settings, db, gate_replay_cache_size=0) as (_, b):
        event = await make_event(a, tokens.admin())
        tt = await make_ticket_type(a, tokens.admin(), event["id"], pricing_model="free", base_price_cents=0)
        ids = await issue(db, settings, tt["id"], 6)
        payloads = await _payloads(a, tokens, ids)
        start = asyncio.Event()

        async def gate(client: httpx.AsyncClient, n: int, payload: str) -> dict[str, Any]:
            await start.wait()
            return await scan(client, tokens.scanner(user=f"g{n}"), event["id"], f"gate-{n}", payload=payload)

        # Every gate of every ticket at once, half through each replica: 48 requests in flight together.
        tasks = [asyncio.create_task(gate(a if n % 2 else b, n, p)) for p in payloads for n in range(GATES_PER_TICKET)]
        await asyncio.sleep(0.05)
        start.set()
        answers = await asyncio.gather(*tasks)

    by_ticket: dict[str, Counter[str]] = {}
    for answer in answers:
        by_ticket.setdefault(answer["ticket_id"], Counter())[answer["result"]] += 1
    assert by_ticket == {t: Counter(admitted=1, already_admitted=GATES_PER_TICKET - 1) for t in ids}
    assert all(a["scan_count"] == 1 for a in answers)
    for t in ids:  # every winner and loser names the one gate that admitted it
        firsts = {a["first_gate_id"] for a in answers if a["ticket_id"] == t}
        assert len(firsts) == 1
    async with db.session() as s:
        rows = (await s.execute(select(Scan).where(col(Scan.event_id) == uuid.UUID(event["id"])))).scalars().all()
    assert Counter(r.result for r in rows) == Counter(admitted=6, already_admitted=6 * (GATES_PER_TICKET - 1))


async def test_replicas_answer_alike_within_and_after_the_window(
    backend: tuple[Settings, Database], tokens: Tokens
) -> None:
    settings, db = backend
    clock = Clock()
    async with replica(settings, db) as (app_a, a), replica(settings, db, gate_replay_cache_size=0) as (app_b, b):
        app_a.state.gate_clock = app_b.state.gate_clock = clock
        event = await make_event(a, tokens.admin())
        tt = await make_ticket_type(a, tokens.admin(), event["id"], pricing_model="free", base_price_cents=0)
        [ticket] = await issue(db, settings, tt["id"], 1)
        [payload] = await _payloads(a, tokens, [ticket])
        gate = tokens.scanner()
        ev = event["id"]
        clock.at = first_at = datetime.now(UTC).replace(microsecond=0)

        async def at(seconds: int, client: httpx.AsyncClient, gate_id: str) -> dict[str, Any]:
            clock.at = first_at + timedelta(seconds=seconds)
            return await scan(client, gate, ev, gate_id, payload=payload)

        admitted = await at(0, a, "G")
        assert admitted["result"] == "admitted" and not admitted["replayed"]
        # A answers from its cache, B from the database alone: the same answer, nothing counted.
        for again in (await at(60, a, "G"), await at(61, b, "G")):
            assert (again["result"], again["replayed"], again["scan_count"]) == ("admitted", True, 1)
            assert again["first_scanned_at"] == admitted["first_scanned_at"]
        # Another gate: the ticket is already in. Then gate G again, still within the window.
        assert (await at(62, a, "H"))["result"] == (await at(63, b, "H"))["result"] == "already_admitted"
        assert (await at(64, a, "G"))["replayed"] is (await at(65, b, "G"))["replayed"] is True
        after = settings.gate_replay_window_seconds + 1
        for late in (await at(after, a, "G"), await at(after + 1, b, "G")):
            assert (late["result"], late["replayed"], late["scan_count"]) == ("already_admitted", False, 1)

    async with db.session() as s:
        rows = (await s.execute(select(Scan).order_by(col(Scan.scanned_at)))).scalars().all()
    assert [(r.gate_id, r.result, r.replayed) for r in rows] == [
        ("G", "admitted", False),
        ("G", "admitted", True),
        ("G", "admitted", True),
        ("H", "already_admitted", False),
        ("H", "already_admitted", False),
        ("G", "admitted", True),
        ("G", "admitted", True),
        ("G", "already_admitted", False),
        ("G", "already_admitted", False),
    ]
