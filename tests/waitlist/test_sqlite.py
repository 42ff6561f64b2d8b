"""The waiting list on SQLite (``make run``'s database): joining, seats kept by a release, offers in line order and a
decline passing on, with Temporal unreachable (the API answers all the same; the list's step runs directly)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from boxoffice.api.app import create_app
from boxoffice.config import build_settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.models.types import utcnow
from boxoffice.waitlist import offers
from tests.harness import JWT_SECRET, Tokens
from tests.waitlist.helpers import counters, join, sold_out, violations


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    url = f"sqlite:///{tmp_path / 'waitlist.db'}"
    upgrade(url)
    settings = build_settings(
        env="test", data_dir=tmp_path, database_url=url, jwt_secret=JWT_SECRET, temporal_address="127.0.0.1:1"
    )
    db = Database(url)
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
            yield client, db
    await db.dispose()


async def test_a_waiting_list_on_sqlite(sqlite_api: tuple[httpx.AsyncClient, Database], tokens: Tokens) -> None:
    api, db = sqlite_api
    sale = await sold_out(api, tokens, capacity=2)
    entries = [await join(api, tokens, sale.tt, f"b{n}") for n in (1, 2, 3)]
    assert [e["place"] for e in entries] == [1, 2, 3] and entries[0]["workflow_id"] is None  # Temporal is down
    assert (await api.delete(f"/v1/holds/{sale.hold_id}", headers=tokens.buyer(sale.holder))).status_code == 200
    assert (await counters(db, sale.tt))["waitlist_reserved"] == 2
    r = await api.post("/v1/holds", json={"ticket_type_id": sale.tt, "quantity": 1}, headers=tokens.buyer("x"))
    assert (r.status_code, r.json()["code"]) == (409, "sold_out")

    async with db.transaction() as s:
        step = await offers.advance(s, uuid.UUID(sale.tt), now=utcnow(), offer_seconds=900)
    assert step.offered == [entries[0]["id"], entries[1]["id"]]
    first = (await api.get(f"/v1/waitlist/{entries[0]['id']}", headers=tokens.buyer("b1"))).json()
    assert first["status"] == "offered" and first["offer"]["hold_id"]
    declined = await api.delete(f"/v1/waitlist/{entries[0]['id']}", headers=tokens.buyer("b1"))
    assert (declined.status_code, declined.json()["status"]) == (200, "left")
    async with db.transaction() as s:
        step = await offers.advance(s, uuid.UUID(sale.tt), now=utcnow(), offer_seconds=900)
    assert step.offered == [entries[2]["id"]]
    seats = await counters(db, sale.tt)
    assert (seats["held"], seats["waitlist_waiting"], seats["waitlist_reserved"]) == (2, 0, 0)
    assert await violations(db) == []
