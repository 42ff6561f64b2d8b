"""Events, ticket types and availability."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from boxoffice.api.deps import AdminUser, CurrentUser, SessionDep
from boxoffice.api.problems import responses
from boxoffice.catalogue import rules
from boxoffice.catalogue.rules import EventInput, PricingModel, TicketTypeInput
from boxoffice.catalogue.schemas import (
    AvailabilityOut,
    EventIn,
    EventOut,
    TicketTypeIn,
    TicketTypeOut,
    TicketTypePatch,
)
from boxoffice.models.types import utcnow

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.post("/events", status_code=201, response_model=EventOut, responses=responses(401, 403, 422))
async def create_event(body: EventIn, who: AdminUser, session: SessionDep) -> EventOut:
    event = await rules.create_event(session, who.org_id, EventInput(**body.model_dump()))
    await session.commit()
    return EventOut.model_validate(event)


@router.get("/events", response_model=list[EventOut], responses=responses(401))
async def list_events(who: CurrentUser, session: SessionDep) -> list[EventOut]:
    return [EventOut.model_validate(e) for e in await rules.list_events(session, who.org_id)]


@router.get("/events/{event_id}", response_model=EventOut, responses=responses(401, 404, 422))
async def get_event(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> EventOut:
    return EventOut.model_validate(await rules.get_event(session, who.org_id, event_id))


# PATCH /v1/events/{event_id} lives in the events flow (issue 13): an edit follows to the tickets sold.


@router.post(
    "/events/{event_id}/ticket-types",
    status_code=201,
    response_model=TicketTypeOut,
    responses=responses(401, 403, 404, 422),
)
async def create_ticket_type(
    event_id: uuid.UUID, body: TicketTypeIn, who: AdminUser, session: SessionDep
) -> TicketTypeOut:
    data = TicketTypeInput(**{**body.model_dump(), "pricing_model": PricingModel(body.pricing_model)})
    tt = await rules.create_ticket_type(session, who.org_id, event_id, data)
    await session.commit()
    return TicketTypeOut.model_validate(tt)


@router.get("/events/{event_id}/ticket-types", response_model=list[TicketTypeOut], responses=responses(401, 404, 422))
async def list_ticket_types(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> list[TicketTypeOut]:
    return [TicketTypeOut.model_validate(t) for t in await rules.list_ticket_types(session, who.org_id, event_id)]


@router.patch("/ticket-types/{ticket_type_id}", response_model=TicketTypeOut, responses=responses(401, 403, 404, 422))
async def update_ticket_type(
    ticket_type_id: uuid.UUID, body: TicketTypePatch, who: AdminUser, session: SessionDep
) -> TicketTypeOut:
    tt = await rules.update_ticket_type(session, who.org_id, ticket_type_id, body.model_dump(exclude_unset=True))
    await session.commit()
    return TicketTypeOut.model_validate(tt)


@router.get("/events/{event_id}/availability", response_model=list[AvailabilityOut], responses=responses(401, 404, 422))
async def availability(event_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> list[AvailabilityOut]:
    event = await rules.get_event(session, who.org_id, event_id)
    now = utcnow()
    return [
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
            on_sale=rules.sales_refusal(tt.sales_start, tt.sales_end, event.ends_at, now, event.cancelled_at) is None,
        )
        for tt in await rules.list_ticket_types(session, who.org_id, event_id)
    ]
