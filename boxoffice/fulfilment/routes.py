"""Delivered tickets: the order's PDF, tickets and their QR codes (the public keys are the gate's: gate/routes.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import col

from boxoffice.access import get_visible, get_visible_order, visible_to
from boxoffice.api.deps import AdminUser, CurrentUser, DbDep, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.errors import BoxofficeError, Conflict, NotFound
from boxoffice.fulfilment.client import resend_tickets
from boxoffice.fulfilment.downloads import tickets_pdf
from boxoffice.models import Ticket
from boxoffice.models.states import OrderStatus, TicketStatus
from boxoffice.ticketing.qr import qr_svg

router = APIRouter(tags=["tickets"])
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The order's tickets, one page each"},
    307: {"description": "Documents kept on S3: a short-lived presigned URL to the PDF (Location)"},
}
SVG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/svg+xml": {}}, "description": "The ticket's QR code"}}


class TicketRevoked(BoxofficeError):
    status, code, title = 410, "ticket_revoked", "Ticket revoked"


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


class ResendOut(BaseModel):
    """The message run that sends the order's tickets again (``message-resend-{key}`` in the Temporal UI)."""

    order_id: uuid.UUID
    key: str
    workflow_id: str


@router.get("/v1/orders/{order_id}/tickets.pdf", response_class=Response, responses={**PDF, **responses(401, 404, 422)})
async def order_pdf(
    order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep, settings: SettingsDep, request: Request
) -> Response:
    """The tickets, one page each (refunded and voided ones marked): streamed, or a 307 to a presigned URL when
    documents are kept on S3 (``BOXOFFICE_S3_PRESIGN_SECONDS``, 0 to always stream)."""
    order = await get_visible_order(session, who, order_id)
    if order.status not in (OrderStatus.PAID, OrderStatus.FULFILLED):
        raise NotFound("this order has no tickets", code="no_tickets")
    await session.close()  # no connection held while the PDF streams
    return await tickets_pdf(
        request.app.state.storage,
        db,
        str(order_id),
        presign_seconds=settings.s3_presign_seconds,
        locale=settings.locale,
    )


@router.post(
    "/v1/orders/{order_id}/resend",
    status_code=202,
    response_model=ResendOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
async def resend(
    order_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    idempotency_key: Annotated[Text | None, Header(max_length=255)] = None,
) -> ResendOut:
    """E-mail the buyer their tickets again (the current PDF attached): one message per request, or per
    ``Idempotency-Key`` (a repeat with the same key sends nothing more)."""
    order = await get_visible_order(session, who, order_id)
    if order.status not in (OrderStatus.PAID, OrderStatus.FULFILLED):
        raise Conflict(f"the order is {order.status}: it has no tickets to send", code="no_tickets")
    await session.rollback()
    key, workflow_id = await resend_tickets(
        client, str(order_id), idempotency_key, task_queue=settings.documents_task_queue
    )
    return ResendOut(order_id=order_id, key=key, workflow_id=workflow_id)


@router.get("/v1/tickets", response_model=list[TicketOut], responses=responses(401, 422))
async def list_tickets(
    who: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[TicketOut]:
    stmt = select(Ticket).where(visible_to(who, Ticket)).order_by(col(Ticket.created_at).desc())
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return [TicketOut.of(t) for t in rows.scalars()]


@router.get("/v1/tickets/{ticket_id}", response_model=TicketOut, responses=responses(401, 404, 422))
async def get_ticket(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> TicketOut:
    return TicketOut.of(await get_visible(session, who, Ticket, ticket_id))


@router.get(
    "/v1/tickets/{ticket_id}/qr.svg", response_class=Response, responses={**SVG, **responses(401, 404, 410, 422)}
)
async def ticket_qr(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> Response:
    """The ticket's QR code; 410 ``ticket_revoked`` once it is voided or refunded (refused at every gate)."""
    ticket = await get_visible(session, who, Ticket, ticket_id)
    if ticket.status in (TicketStatus.VOIDED, TicketStatus.REFUNDED):
        raise TicketRevoked(f"the ticket was {ticket.status}: it no longer admits")
    return Response(qr_svg(ticket.qr_payload), media_type="image/svg+xml")
