"""Inventory holds can never oversell, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from boxoffice.api.app import create_app
from boxoffice.config import build_settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.models import Hold, TicketType
from tests.harness import JWT_SECRET, Tokens
from tests.helpers import availability, make_event, make_ticket_type


async def assert_invariant(db: Database, ticket_type_id: str) -> TicketType:
    """held + sold ≤ capacity, and held equals the sum of active holds."""
    async with db.session() as s:
        tt = (
            await s.execute(select(TicketType).where(col(TicketType.id) == uuid.UUID(str(ticket_type_id))))
        ).scalar_one()
        active = (
            await s.execute(
                select(func.coalesce(func.sum(Hold.quantity), 0)).where(
                    col(Hold.ticket_type_id) == tt.id, col(Hold.status) == "active"
                )
            )
        ).scalar_one()
    assert tt.held + tt.sold <= tt.capacity
    assert tt.held == active
    return tt


async def storm(api: httpx.AsyncClient, tokens: Tokens, db: Database, n_requests: int, seats: int) -> None:
    """Fire ``n_requests`` concurrent one-seat holds at ``seats`` seats from distinct buyers."""
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=seats, max_per_order=None)

    async def one(i: int) -> httpx.Response:
        return await api.post(
            "/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 1}, headers=tokens.buyer(f"buyer{i}")
        )

    responses = await asyncio.gather(*(one(i) for i in range(n_requests)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: seats, 409: n_requests - seats}, statuses
    codes = {r.json()["code"] for r in responses if r.status_code == 409}
    assert codes == {"sold_out"}
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status_code == 409)

    row = (await availability(api, admin, event["id"]))[tt["id"]]
    assert row["available"] == 0 and row["held"] == seats
    await assert_invariant(db, tt["id"])

    # Releasing one hold makes exactly one seat available again, at once.
    winner = next(i for i, r in enumerate(responses) if r.status_code == 201)
    hold_id = responses[winner].json()["id"]
    r = await api.delete(f"/v1/holds/{hold_id}", headers=tokens.buyer(f"buyer{winner}"))
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 1
    # Releasing again is a no-op, not a second seat.
    r = await api.delete(f"/v1/holds/{hold_id}", headers=tokens.buyer(f"buyer{winner}"))
    assert r.status_code == 200
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 1
    await assert_invariant(db, tt["id"])


async def test_300_concurrent_holds_on_50_seats_postgres(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    await storm(api, tokens, db, 300, 50)


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    url = f"sqlite:///{tmp_path / 'holds.db'}"
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


async def test_300_concurrent_holds_on_50_seats_sqlite(sqlite_api: Any, tokens: Tokens) -> None:
    api, db = sqlite_api
    await storm(api, tokens, db, 300, 50)


async def test_hold_respects_max_per_order_and_quantity(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, max_per_order=4)
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 5}, headers=tokens.buyer())
    assert r.status_code == 422 and r.json()["code"] == "max_per_order_exceeded"
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 0}, headers=tokens.buyer())
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 4}, headers=tokens.buyer())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "active" and body["quantity"] == 4 and body["expires_at"]
    # A bad request changed nothing.
    assert (await availability(api, admin, event["id"]))[tt["id"]]["available"] == 6
    await assert_invariant(db, tt["id"])


async def test_sold_out_reports_what_remains(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=3)
    assert (
        await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 2}, headers=tokens.buyer())
    ).status_code == 201
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 2}, headers=tokens.buyer("bob"))
    assert r.status_code == 409
    assert r.json()["code"] == "sold_out" and r.json()["available"] == 1
    await assert_invariant(db, tt["id"])


async def test_sales_window_is_enforced(api: httpx.AsyncClient, tokens: Tokens) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.helpers import iso

    admin = tokens.admin()
    event = await make_event(api, admin)
    later = await make_ticket_type(
        api, admin, event["id"], name="later", sales_start=iso(datetime.now(UTC) + timedelta(days=1))
    )
    r = await api.post("/v1/holds", json={"ticket_type_id": later["id"], "quantity": 1}, headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "sales_not_started"
    past = await make_ticket_type(
        api,
        admin,
        event["id"],
        name="past",
        sales_start=iso(datetime.now(UTC) - timedelta(days=2)),
        sales_end=iso(datetime.now(UTC) - timedelta(days=1)),
    )
    r = await api.post("/v1/holds", json={"ticket_type_id": past["id"], "quantity": 1}, headers=tokens.buyer())
    assert r.status_code == 409 and r.json()["code"] == "sales_ended"
