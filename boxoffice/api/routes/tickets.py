"""Tickets, their QR codes, and the public ticket-verification keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from boxoffice.api.deps import CurrentUser, SessionDep
from boxoffice.auth import Principal, Role
from boxoffice.errors import NotFound
from boxoffice.models import Ticket
from boxoffice.ticketing.keys import public_jwks
from boxoffice.ticketing.qr import qr_svg

router = APIRouter(tags=["tickets"])


def _visible(t: Ticket | None, who: Principal) -> bool:
    if t is None or t.organization_id != who.org_id:
        return False
    return who.role is Role.ORG_ADMIN or (who.role is Role.BUYER and t.user_id == who.user_id)


def _view(t: Ticket) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "order_id": str(t.order_id),
        "event_id": str(t.event_id),
        "ticket_type_id": str(t.ticket_type_id),
        "ticket_code": t.ticket_code,
        "status": t.status,
        "qr_payload": t.qr_payload,
        "scan_count": t.scan_count,
        "scanned_at": t.scanned_at.isoformat() if t.scanned_at else None,
        "last_gate_id": t.last_gate_id,
        "seat_id": t.seat_id,
    }


async def _get(session: Any, who: Principal, ticket_id: uuid.UUID) -> Ticket:
    t = await session.get(Ticket, ticket_id)
    if not _visible(t, who):
        raise NotFound("ticket not found", code="ticket_not_found")
    return t  # type: ignore[no-any-return]


@router.get("/v1/tickets")
async def list_tickets(
    who: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    stmt = select(Ticket).where(Ticket.organization_id == who.org_id)  # type: ignore[arg-type]
    if who.role is not Role.ORG_ADMIN:
        stmt = stmt.where(Ticket.user_id == who.user_id)  # type: ignore[arg-type]
    rows = await session.execute(stmt.order_by(Ticket.created_at.desc()).limit(limit).offset(offset))  # type: ignore[attr-defined]
    return [_view(t) for t in rows.scalars()]


@router.get("/v1/tickets/{ticket_id}")
async def get_ticket(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return _view(await _get(session, who, ticket_id))


@router.get("/v1/tickets/{ticket_id}/qr.svg")
async def ticket_qr(ticket_id: uuid.UUID, who: CurrentUser, session: SessionDep) -> Response:
    t = await _get(session, who, ticket_id)
    return Response(qr_svg(t.qr_payload), media_type="image/svg+xml")


@router.get("/.well-known/boxoffice/keys.json")
async def keys(request: Request) -> dict[str, Any]:
    return public_jwks([request.app.state.signing_key.public_key])
