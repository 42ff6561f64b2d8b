"""Illegal status changes are refused by the model itself, whoever attempts them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import CursorResult, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.db import Database
from boxoffice.errors import IllegalTransition
from boxoffice.models import Hold, Order
from boxoffice.models.states import TRANSITIONS, HoldStatus, OrderStatus, TicketStatus, can_transition
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type

Row = TypeVar("Row")


async def _get(s: AsyncSession, table: type[Row], key: uuid.UUID) -> Row:
    """The row ``key`` of ``table``, which the test has made and must exist."""
    row = await s.get(table, key)
    assert row is not None, (table, key)
    return row


def test_declared_machines() -> None:
    assert can_transition(OrderStatus, "pending", "paid")
    assert not can_transition(OrderStatus, "cancelled", "paid")
    assert not can_transition(OrderStatus, "pending", "fulfilled")
    assert not can_transition(TicketStatus, "refunded", "active")
    assert not can_transition(HoldStatus, "released", "active")
    # Terminal states have no way out except those declared.
    for machine, table in TRANSITIONS.items():
        for source, targets in table.items():
            assert all(isinstance(t, machine) for t in targets), (machine, source)


async def test_flush_refuses_an_illegal_change(api: httpx.AsyncClient, tokens: Tokens, db: Database) -> None:
    event = await make_event(api, tokens.admin())
    tt = await make_ticket_type(api, tokens.admin(), event["id"])
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 1}, headers=tokens.buyer())
    hold_id = uuid.UUID(r.json()["id"])
    async with db.transaction() as s:
        (await _get(s, Hold, hold_id)).status = HoldStatus.RELEASED
    with pytest.raises(IllegalTransition) as err:
        async with db.transaction() as s:
            (await _get(s, Hold, hold_id)).status = HoldStatus.ACTIVE
    assert err.value.code == "illegal_transition" and "released → active" in err.value.detail
    async with db.session() as s:
        assert (await _get(s, Hold, hold_id)).status == "released"

    async with db.transaction() as s:
        order = Order(
            organization_id="org1",
            event_id=uuid.UUID(event["id"]),
            user_id="alice",
            buyer_email="a@b.co",
            buyer_name="A",
            currency="ZAR",
            provider="sandbox",
            request_hash="x",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
            status=OrderStatus.CANCELLED,
        )
        s.add(order)
    with pytest.raises(IllegalTransition):
        async with db.transaction() as s:
            (await _get(s, Order, order.id)).status = OrderStatus.PAID
    # Bulk statements guard themselves with WHERE status IN (legal sources): nothing matches, nothing changes.
    async with db.transaction() as s:
        from boxoffice.models.states import sources_of

        res = await s.execute(
            update(Order)
            .where(col(Order.id) == order.id, col(Order.status).in_(sources_of(OrderStatus, OrderStatus.PAID)))
            .values(status="paid")
        )
        assert isinstance(res, CursorResult) and res.rowcount == 0
