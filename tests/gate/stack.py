"""Apps of the gate tests built by hand: two API replicas over one database (PostgreSQL or SQLite), tickets
issued straight into it by the real issuing code (no checkout run needed), and an HTTP client per app."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.api.app import create_app
from boxoffice.checkout.issuing import issue_tickets
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Event, Hold, Order, OrderLine, TicketType
from boxoffice.models.states import HoldStatus, OrderStatus, PaymentStatus
from boxoffice.models.types import utcnow
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing


@contextlib.asynccontextmanager
async def replica(
    settings: Settings, db: Database, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One API process over ``db`` (settings changed by ``overrides``), with a client that reaches it in-process."""
    app = create_app(settings.model_copy(update=overrides), db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
            yield app, client


async def issue(db: Database, settings: Settings, ticket_type_id: str, qty: int, user: str = "alice") -> list[str]:
    """``qty`` tickets of the ticket type, issued by the checkout's issuing step into a paid order of ``user``
    (seats sold, as a completed checkout leaves them); their ids."""
    assert settings.signing_key_file is not None
    issuer = KeyedTicketIssuer(KeyRing.load_or_create(settings.signing_key_file))
    now = utcnow()
    async with db.transaction() as session:
        tt = await session.get(TicketType, uuid.UUID(ticket_type_id))
        assert tt is not None
        event = await session.get(Event, tt.event_id)
        assert event is not None
        hold = Hold(
            organization_id=tt.organization_id,
            event_id=tt.event_id,
            ticket_type_id=tt.id,
            user_id=user,
            quantity=qty,
            status=HoldStatus.CONVERTED,
            expires_at=now + timedelta(minutes=10),
        )
        order = Order(
            organization_id=tt.organization_id,
            event_id=tt.event_id,
            user_id=user,
            buyer_email=f"{user}@example.com",
            buyer_name=user,
            status=OrderStatus.PAID,
            payment_status=PaymentStatus.NOT_REQUIRED,
            currency=event.currency,
            provider="sandbox",
            request_hash="0" * 64,
            expires_at=now + timedelta(minutes=10),
        )
        session.add_all([hold, order])
        await session.flush()
        hold.order_id = order.id
        line = OrderLine(
            order_id=order.id,
            hold_id=hold.id,
            ticket_type_id=tt.id,
            name=tt.name,
            quantity=qty,
            unit_price_cents=0,
            line_total_cents=0,
        )
        session.add(line)
        await session.flush()
        tickets = await issue_tickets(session, order, [line], event, issuer, now)
        tt.sold += qty
        return [str(t.id) for t in tickets]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gate.db'}"
