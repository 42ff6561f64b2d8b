"""Request and response bodies of waiting lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from boxoffice.api.schemas import Body
from boxoffice.models import WaitlistEntry
from boxoffice.waitlist.contract import WaitlistProgress
from boxoffice.waitlist.line import EntryView

EntryStatus = Literal["waiting", "offered", "taken", "passed", "left", "closed"]


class JoinIn(Body):
    quantity: int = Field(ge=1, le=1000, description="seats wanted; offered all together or not at all")


class OfferOut(BaseModel):
    """The hold kept for the buyer: check out with ``hold_id`` before ``expires_at``, or it passes to the next."""

    hold_id: uuid.UUID
    expires_at: datetime


class EntryOut(BaseModel):
    """A place in a waiting list. ``place``: among those still waiting (1 is next); ``offer`` while ``offered``.
    ``waiting`` → ``offered`` → ``taken`` (bought) or ``passed`` (not bought in time); ``left``; ``closed``
    (sales ended)."""

    id: uuid.UUID
    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    quantity: int
    status: EntryStatus
    place: int | None
    offer: OfferOut | None
    joined_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, view: EntryView) -> EntryOut:
        e = view.entry
        return cls(
            id=e.id,
            ticket_type_id=e.ticket_type_id,
            event_id=e.event_id,
            quantity=e.quantity,
            status=e.status,  # type: ignore[arg-type]
            place=view.place,
            offer=_offer(e),
            joined_at=e.created_at,
            ended_at=e.ended_at,
        )


class JoinedOut(EntryOut):
    """The new entry, and the list's run told of it (None: it could not be told now; the sweep starts it)."""

    workflow_id: str | None


class LineEntryOut(EntryOut):
    """An entry as the organiser sees it: whose, and its position in the line ever (1 joined first)."""

    user_id: str
    position: int

    @classmethod
    def of(cls, view: EntryView) -> LineEntryOut:
        return cls(**EntryOut.of(view).model_dump(), user_id=view.entry.user_id, position=view.entry.position)


class LineOut(BaseModel):
    """A ticket type's waiting list: what waits, what is kept for it, its entries in order, and its run's progress
    (None when no run is going: nobody is in the line, or Temporal is unreachable)."""

    ticket_type_id: uuid.UUID
    waiting_seats: int
    kept_seats: int
    entries: list[LineEntryOut]
    run: WaitlistProgress | None


def _offer(e: WaitlistEntry) -> OfferOut | None:
    if e.status != "offered" or e.hold_id is None or e.offer_expires_at is None:
        return None
    return OfferOut(hold_id=e.hold_id, expires_at=e.offer_expires_at)
