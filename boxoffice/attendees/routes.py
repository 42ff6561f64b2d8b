"""An event's attendees for its organiser (a page, or CSV), and a buyer's correction of an attendee's name."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from boxoffice.api.deps import AdminUser, CurrentUser, DbDep, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset
from boxoffice.attendees import rules
from boxoffice.attendees.schemas import AttendeeOut, AttendeePatch, TicketAttendeeOut
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.models.types import utcnow

router = APIRouter(prefix="/v1", tags=["attendees"])
TicketState = Literal["active", "scanned", "used", "voided", "refunded"]
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "One line per ticket, with a header line (RFC 4180)"}
}


@router.get("/events/{event_id}/attendees", response_model=list[AttendeeOut], responses=responses(401, 403, 404, 422))
async def list_attendees(
    event_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    status: Annotated[TicketState | None, Query(description="only tickets in this state")] = None,
) -> list[AttendeeOut]:
    """Every ticket of the event (ordered by attendee name) with its attendee, buyer and check-in state."""
    await db.snapshot(session)
    await rules.event_of(session, who.org_id, event_id)
    return await rules.list_attendees(session, event_id, limit=limit, offset=offset, status=status)


@router.get(
    "/events/{event_id}/attendees.csv", response_class=StreamingResponse, responses={**CSV, **responses(401, 403, 404)}
)
async def export_attendees(
    event_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    db: DbDep,
    status: Annotated[TicketState | None, Query(description="only tickets in this state")] = None,
) -> StreamingResponse:
    """The event's attendees as CSV, streamed."""
    await rules.event_of(session, who.org_id, event_id)
    await session.close()
    return StreamingResponse(
        rules.csv_lines(db, event_id, status),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="attendees-{event_id}.csv"'},
    )


@router.patch(
    "/tickets/{ticket_id}/attendee", response_model=TicketAttendeeOut, responses=responses(401, 404, 409, 422, 503)
)
async def correct_attendee(
    ticket_id: uuid.UUID,
    body: AttendeePatch,
    who: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
) -> TicketAttendeeOut:
    """Correct the attendee of a valid ticket before the event; the order's PDF is re-issued and sent to the buyer
    (same codes: nothing is re-signed). Repeating the request changes and sends nothing more."""
    fixed = await rules.correct_attendee(session, who, ticket_id, name=body.name, email=body.email, now=utcnow())
    await session.commit()
    workflow_id = None
    if fixed.corrected_at is not None:
        message = MessageInput(
            kind="tickets_updated",
            order_id=str(fixed.ticket.order_id),
            key=rules.correction_key(ticket_id, fixed.corrected_at),
            ticket_ids=[str(ticket_id)],
            refresh_pdf=True,
        )
        workflow_id = await send_message(client, message, task_queue=settings.documents_task_queue)
    return TicketAttendeeOut(
        ticket_id=ticket_id,
        attendee_name=fixed.attendee.name,
        attendee_email=fixed.attendee.email,
        message_workflow_id=workflow_id,
    )
