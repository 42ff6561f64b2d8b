"""Request and response bodies of attendees."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from boxoffice.api.schemas import Body, Email, Name


class AttendeeOut(BaseModel):
    """One ticket of an event with the person it is for and its check-in state."""

    ticket_id: uuid.UUID
    ticket_code: str
    ticket_status: str
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    attendee_name: str
    attendee_email: str
    order_id: uuid.UUID
    buyer_name: str
    buyer_email: str
    checked_in: bool
    checked_in_at: datetime | None
    scan_count: int
    last_gate_id: str | None


class AttendeePatch(Body):
    """The corrected attendee: the name, and the e-mail address when it changes too."""

    name: Name = Field(min_length=1, max_length=200)
    email: Email | None = Field(default=None, max_length=320)


class TicketAttendeeOut(BaseModel):
    """The ticket's attendee after the correction, and the run that re-issues the order's PDF (None: nothing
    changed and nothing was ever corrected)."""

    ticket_id: uuid.UUID
    attendee_name: str
    attendee_email: str
    message_workflow_id: str | None
