"""The demo organisation, event and ticket types that ``boxoffice dev`` seeds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from boxoffice.access import ensure_organization
from boxoffice.catalogue.rules import (
    EventInput,
    PricingModel,
    TicketTypeInput,
    create_event,
    create_ticket_type,
)
from boxoffice.db import Database
from boxoffice.models import Event, TicketType
from boxoffice.models.types import utcnow

DEMO_ORG = "demo"


async def seed_demo(db: Database) -> Event:
    """Create the demo data once; later calls return the existing demo event."""
    async with db.transaction() as session:
        await ensure_organization(session, DEMO_ORG)
        existing = (
            await session.execute(select(Event).where(col(Event.organization_id) == DEMO_ORG).limit(1))
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        start = (utcnow() + timedelta(days=30)).replace(hour=18, minute=0, second=0, microsecond=0)
        event = await create_event(
            session,
            DEMO_ORG,
            EventInput(
                name="Boxoffice Demo Night",
                venue="The Demo Hall, Cape Town",
                starts_at=start,
                ends_at=start + timedelta(hours=5),
                currency="ZAR",
                timezone="Africa/Johannesburg",
                service_fee_bps=250,
                service_fee_fixed_cents=500,
            ),
        )
        for tt in (
            TicketTypeInput(
                name="General admission",
                capacity=500,
                pricing_model=PricingModel.FIXED,
                base_price_cents=15000,
                max_per_order=10,
            ),
            TicketTypeInput(
                name="Pay what you want",
                capacity=100,
                pricing_model=PricingModel.PAY_WHAT_YOU_WANT,
                minimum_price_cents=5000,
                suggested_price_cents=12000,
                max_per_order=4,
            ),
            TicketTypeInput(name="Community (free)", capacity=50, pricing_model=PricingModel.FREE, max_per_order=2),
        ):
            await create_ticket_type(session, DEMO_ORG, event.id, tt)
        return event


async def demo_ticket_types(db: Database, event: Event) -> list[TicketType]:
    async with db.session() as session:
        rows = await session.execute(select(TicketType).where(col(TicketType.event_id) == event.id))
        return list(rows.scalars())
