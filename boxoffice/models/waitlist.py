"""Waiting lists and ticket transfers (issue 13).

A waiting list is a ticket type's queue of buyers who could not get seats. ``ticket_types.waitlist_waiting`` is
the seats its waiting entries want, and ``ticket_types.waitlist_reserved`` the free seats kept for them (never more
than they want): ordinary holds leave those seats, and an offer (a hold made for the buyer at the head of the line)
takes them. Both columns only move in the transaction that changes the entries or the seats they depend on.

A ticket transfer replaces one ticket by a new one for another person: the old ticket is voided (refused at every
gate, listed in the gate bundle) and points at its replacement (``tickets.replaced_by_id``); the transfer row
says who did it and whether both parties' messages were started.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint, case, text
from sqlmodel import Field, SQLModel

from boxoffice.models.states import WaitlistStatus
from boxoffice.models.types import UTCDateTime, new_id, utcnow

# An entry still in the line (waiting) or holding an offer: one per buyer and ticket type.
LIVE_WAITLIST_STATUSES = (WaitlistStatus.WAITING.value, WaitlistStatus.OFFERED.value)
_LIVE = "status IN ('waiting', 'offered')"


class WaitlistEntry(SQLModel, table=True):
    """One buyer in a ticket type's waiting list, for ``quantity`` seats. ``position`` orders the line (1 is the
    first to join); an offer is the hold ``hold_id``, reserved for the buyer until ``offer_expires_at``."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_waitlist_entries_quantity"),
        UniqueConstraint("ticket_type_id", "position", name="uq_waitlist_entries_position"),
        Index("ix_waitlist_entries_line", "ticket_type_id", "status", "position"),
        Index(
            "uq_waitlist_entries_live_buyer",
            "ticket_type_id",
            "user_id",
            unique=True,
            postgresql_where=text(_LIVE),
            sqlite_where=text(_LIVE),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    event_id: uuid.UUID = Field(foreign_key="events.id")
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_types.id")
    user_id: str = Field(index=True, max_length=128)
    quantity: int
    position: int
    status: str = Field(default=WaitlistStatus.WAITING, sa_column=Column(String(16), nullable=False))
    hold_id: uuid.UUID | None = Field(default=None, foreign_key="holds.id")
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offer_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketTransfer(SQLModel, table=True):
    """A ticket given to another person: ``from_ticket_id`` (voided) was replaced by ``to_ticket_id`` (issued to
    the attendee ``to_attendee_id``), by ``transferred_by`` acting as ``role``. ``notified_at``: both parties'
    message runs were started."""

    __tablename__ = "ticket_transfers"

    id: uuid.UUID = Field(primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    from_ticket_id: uuid.UUID = Field(foreign_key="tickets.id", unique=True)
    to_ticket_id: uuid.UUID = Field(foreign_key="tickets.id", unique=True)
    to_attendee_id: uuid.UUID = Field(foreign_key="attendees.id")
    transferred_by: str = Field(max_length=128)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def kept_for_waitlist(capacity: Any, held: Any, sold: Any, reserved: Any, waiting: Any) -> Any:
    """The seats a ticket type keeps for its waiting list after a change (SQL; each argument is the column's value
    after the change): as many as the waiting buyers want, up to every seat not held, sold or reserved for voucher
    holders. Computed in the statement that gives seats back, so a returned seat reaches the list atomically."""
    free = capacity - held - sold - reserved
    return case((waiting <= free, waiting), (free > 0, free), else_=0)


# The session's ticket types whose returned seats were kept for their waiting list in this transaction: the
# waiting list flow (``boxoffice.waitlist.hints``) tells each list once the transaction commits.
SEATS_KEPT = "boxoffice.waitlist.seats_kept"


def mark_seats_kept(session: Any, ticket_type_id: uuid.UUID) -> None:
    """Note (in the session) that seats of ``ticket_type_id`` were kept for its waiting list in this transaction."""
    getattr(session, "sync_session", session).info.setdefault(SEATS_KEPT, set()).add(ticket_type_id)


def take_seats_kept(session: Any) -> set[uuid.UUID]:
    """The ticket types noted by ``mark_seats_kept`` in the session, forgetting them."""
    found: set[uuid.UUID] = getattr(session, "sync_session", session).info.pop(SEATS_KEPT, set())
    return found
