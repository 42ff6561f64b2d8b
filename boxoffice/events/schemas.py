"""Request and response bodies of the events flow (issue 13): an event's cancellation and its progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from boxoffice.api.schemas import Body, Text


class CancelIn(Body):
    reason: Text | None = Field(
        default=None, max_length=500, description="what buyers are told in the cancellation message"
    )


class CancellationOut(BaseModel):
    """Where the event's cancellation stands: ``scheduled`` (not cancelled), ``cancelling`` (refunds under way) or
    ``cancelled`` (every order settled). ``total``: orders to settle; ``done``: settled (refund paid out, or free
    tickets voided); ``failed``: refunds the provider refused, being sent again."""

    event_id: uuid.UUID
    status: Literal["scheduled", "cancelling", "cancelled"]
    cancelled_at: datetime | None
    reason: str | None
    workflow_id: str | None
    state: str
    total: int
    done: int
    failed: int
    refunds_started: int
    refunds_settled: int
    orders_voided: int
    deferred: int
    checkouts_stopped: int
