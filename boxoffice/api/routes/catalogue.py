"""Events, ticket types and availability."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from boxoffice.api.deps import AdminUser, CurrentUser, SessionDep
from boxoffice.api.schemas import (
    AvailabilityOut,
    EventIn,
    EventOut,
    TicketTypeIn,
    TicketTypeOut,
    TicketTypePatch,
)
from boxoffice.models.types import utcnow
from boxoffice.services import catalogue
from boxoffice.services.catalogue import EventInput, PricingModel, TicketTypeInput

router = APIRouter(prefix="/v1", tags=["catalogue"])


def _tt_out(tt: object) -> TicketTypeOut:
    return TicketTypeOut.model_validate(tt)


@router.post("/events", status_code=201, response_model=EventOut)
async def create_event(body: EventIn, who: AdminUser, session: SessionDep) -> EventOut:
    event = await catalogue.create_event(session, who.org_id, EventInput(**body.model_dump()))
    await session.commit()
    return EventOut.model_validate(event)


@router.get("/events", response_model=list[EventOut])
async def list_events(who: CurrentUser, session: SessionDep) -> list[EventOut]:
    return [EventOut.model_validate(e) for e in await catalogue.list_events(session, who.org_id)]


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> EventOut:
    return EventOut.model_validate(await catalogue.get_event(session, who.org_id, event_id))


@router.post("/events/{event_id}/ticket-types", status_code=201, response_model=TicketTypeOut)
async def create_ticket_type(
    event_id: uuid.UUID, body: TicketTypeIn, who: AdminUser, session: SessionDep
) -> TicketTypeOut:
    data = TicketTypeInput(**{**body.model_dump(), "pricing_model": PricingModel(body.pricing_model)})
    tt = await catalogue.create_ticket_type(session, who.org_id, event_id, data)
    await session.commit()
    return _tt_out(tt)


@router.get("/events/{event_id}/ticket-types", response_model=list[TicketTypeOut])
async def list_ticket_types(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> list[TicketTypeOut]:
    return [_tt_out(t) for t in await catalogue.list_ticket_types(session, who.org_id, event_id)]


@router.patch("/ticket-types/{ticket_type_id}", response_model=TicketTypeOut)
async def update_ticket_type(
    ticket_type_id: uuid.UUID, body: TicketTypePatch, who: AdminUser, session: SessionDep
) -> TicketTypeOut:
    tt = await catalogue.update_ticket_type(session, who.org_id, ticket_type_id, body.model_dump(exclude_unset=True))
    await session.commit()
    return _tt_out(tt)


@router.get("/events/{event_id}/availability", response_model=list[AvailabilityOut])
async def availability(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> list[AvailabilityOut]:
    event = await catalogue.get_event(session, who.org_id, event_id)
    now = utcnow()
    out = []
    for tt in await catalogue.list_ticket_types(session, who.org_id, event_id):
        on_sale = (
            (tt.sales_start is None or tt.sales_start <= now)
            and (tt.sales_end is None or now < tt.sales_end)
            and now < event.ends_at
        )
        out.append(
            AvailabilityOut(
                ticket_type_id=tt.id,
                name=tt.name,
                capacity=tt.capacity,
                available=tt.available,
                held=tt.held,
                sold=tt.sold,
                pricing_model=tt.pricing_model,
                base_price_cents=tt.base_price_cents,
                minimum_price_cents=tt.minimum_price_cents,
                suggested_price_cents=tt.suggested_price_cents,
                max_per_order=tt.max_per_order,
                currency=event.currency,
                on_sale=on_sale,
            )
        )
    return out
