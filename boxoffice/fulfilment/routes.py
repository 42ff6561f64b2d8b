"""Delivered tickets: the order's PDF, tickets and their QR codes, and the public ticket-verification keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import col

from boxoffice.access import get_visible, get_visible_order, visible_to
from boxoffice.api.deps import CurrentUser, DbDep, SessionDep
from boxoffice.api.problems import responses
from boxoffice.errors import NotFound
from boxoffice.fulfilment.documents import pdf_key, render_pdf
from boxoffice.models import Ticket
from boxoffice.models.states import OrderStatus
from boxoffice.ticketing.qr import qr_svg

router = APIRouter(tags=["tickets"])
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The order's tickets, one page each"}
}
SVG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/svg+xml": {}}, "description": "The ticket's QR code"}}


class TicketOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_id: uuid.UUID
    ticket_code: str
    status: str
    qr_payload: str
    scan_count: int
    scanned_at: datetime | None
    last_gate_id: str | None
    seat_id: str | None

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls(
            id=t.id,
            order_id=t.order_id,
            event_id=t.event_id,
            ticket_type_id=t.ticket_type_id,
            ticket_code=t.ticket_code,
            status=t.status,
            qr_payload=t.qr_payload,
            scan_count=t.scan_count,
            scanned_at=t.scanned_at,
            last_gate_id=t.last_gate_id,
            seat_id=t.seat_id,
        )


class PublicKey(BaseModel):
    kty: str
    crv: str
    alg: str
    use: str
    kid: str
    x: str


class KeySet(BaseModel):
    keys: list[PublicKey]


@router.get("/v1/orders/{order_id}/tickets.pdf", response_class=Response, responses={**PDF, **responses(401, 404, 422)})
async def order_pdf(
    order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep, request: Request
) -> Response:
    order = await get_visible_order(session, who, order_id)
    if order.status not in (OrderStatus.PAID, OrderStatus.FULFILLED):
        raise NotFound("this order has no tickets", code="no_tickets")
    data = await request.app.state.storage.get(pdf_key(str(order_id)))
    if data is None:
        data = await render_pdf(db, str(order_id))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{order_id}.pdf"'},
    )


@router.get("/v1/tickets", response_model=list[TicketOut], responses=responses(401, 422))
async def list_tickets(
    who: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketOut]:
    stmt = select(Ticket).where(visible_to(who, Ticket)).order_by(col(Ticket.created_at).desc())
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return [TicketOut.of(t) for t in rows.scalars()]


@router.get("/v1/tickets/{ticket_id}", response_model=TicketOut, responses=responses(401, 404, 422))
async def get_ticket(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> TicketOut:
    return TicketOut.of(await get_visible(session, who, Ticket, ticket_id))


@router.get("/v1/tickets/{ticket_id}/qr.svg", response_class=Response, responses={**SVG, **responses(401, 404, 422)})
async def ticket_qr(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> Response:
    ticket = await get_visible(session, who, Ticket, ticket_id)
    return Response(qr_svg(ticket.qr_payload), media_type="image/svg+xml")


@router.get("/.well-known/boxoffice/keys.json", response_model=KeySet)
async def keys(request: Request) -> dict[str, Any]:
    ring = request.app.state.keyring
    ring.refresh()
    return ring.public_jwks()
