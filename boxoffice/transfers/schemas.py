"""Request and response bodies of ticket transfers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from boxoffice.api.schemas import Body, Email, Name


class TransferIn(Body):
    """The person the ticket is for from now on: their ticket is e-mailed to them."""

    name: Name = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=320)


class NewTicketOut(BaseModel):
    id: uuid.UUID
    ticket_code: str
    status: str


class TransferOut(BaseModel):
    """The transfer: ``ticket_id`` (now voided, refused at every gate) was replaced by ``new_ticket`` for the
    attendee. ``messages_started``: both parties' message runs were started (if not, repeating the request starts
    them)."""

    transfer_id: uuid.UUID
    ticket_id: uuid.UUID
    new_ticket: NewTicketOut
    attendee_name: str
    attendee_email: str
    transferred_by: str
    transferred_at: datetime
    messages_started: bool
    message_workflow_ids: list[str]
