"""Attendee reads and edits: an event's attendees with their tickets and check-in state (a page, or every row for
the CSV export), and a buyer's correction of an attendee before the event."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import get_visible
from boxoffice.attendees.schemas import AttendeeOut
from boxoffice.auth import Principal
from boxoffice.db import Database
from boxoffice.errors import Conflict, NotFound
from boxoffice.models import Attendee, Event, Order, Ticket, TicketType
from boxoffice.models.states import TicketStatus

CSV_COLUMNS = [
    "ticket_code",
    "ticket_status",
    "ticket_type_name",
    "attendee_name",
    "attendee_email",
    "buyer_name",
    "buyer_email",
    "order_id",
    "checked_in",
    "checked_in_at",
    "scan_count",
    "last_gate_id",
    "ticket_id",
]
CSV_BATCH = 1000
_CORRECTION_NAMESPACE = uuid.UUID("3a6f0d8e-91c4-4b7a-a2e5-6c0f1d9b8e34")
# A cell starting with one of these is a formula to spreadsheet software (CSV injection): it is quoted with "'".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def event_of(session: AsyncSession, org_id: str, event_id: uuid.UUID) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.organization_id != org_id:
        raise NotFound("event not found", code="event_not_found")
    return event


def _rows(event_id: uuid.UUID, status: str | None) -> Select[Ticket, str, Attendee, Order]:
    """Every ticket of the event with its type, attendee and order, in a stable order (attendee name, ticket id)."""
    stmt = (
        select(Ticket, col(TicketType.name), Attendee, Order)
        .join(TicketType, col(TicketType.id) == col(Ticket.ticket_type_id))
        .join(Order, col(Order.id) == col(Ticket.order_id))
        .outerjoin(Attendee, col(Attendee.id) == col(Ticket.attendee_id))
        .where(col(Ticket.event_id) == event_id)
        .order_by(func.lower(func.coalesce(col(Attendee.name), col(Order.buyer_name))), col(Ticket.id))
    )
    return stmt if status is None else stmt.where(col(Ticket.status) == status)


def _out(ticket: Ticket, type_name: str, attendee: Attendee | None, order: Order) -> AttendeeOut:
    return AttendeeOut(
        ticket_id=ticket.id,
        ticket_code=ticket.ticket_code,
        ticket_status=ticket.status,
        ticket_type_id=ticket.ticket_type_id,
        ticket_type_name=type_name,
        attendee_name=attendee.name if attendee else order.buyer_name,
        attendee_email=attendee.email if attendee else order.buyer_email,
        order_id=order.id,
        buyer_name=order.buyer_name,
        buyer_email=order.buyer_email,
        checked_in=ticket.scanned_at is not None or ticket.status in (TicketStatus.SCANNED, TicketStatus.USED),
        checked_in_at=ticket.scanned_at,
        scan_count=ticket.scan_count,
        last_gate_id=ticket.last_gate_id,
    )


async def list_attendees(
    session: AsyncSession, event_id: uuid.UUID, *, limit: int, offset: int, status: str | None = None
) -> list[AttendeeOut]:
    """One page of the event's attendees (every ticket, whatever its status, unless ``status`` says)."""
    rows = await session.execute(_rows(event_id, status).limit(limit).offset(offset))
    return [_out(*row) for row in rows.all()]


async def csv_lines(db: Database, event_id: uuid.UUID, status: str | None = None) -> AsyncIterator[str]:
    """The event's attendees as CSV text (a header, then one line per ticket), read in batches from one snapshot
    so a sale during the export cannot shift the pages under it."""
    yield _csv([CSV_COLUMNS])
    async with db.session() as session:
        await db.snapshot(session)
        offset = 0
        while True:
            page = await list_attendees(session, event_id, limit=CSV_BATCH, offset=offset, status=status)
            if not page:
                return
            yield _csv([_csv_row(a) for a in page])
            offset += len(page)


def _csv_row(a: AttendeeOut) -> list[str]:
    values = a.model_dump(mode="json")
    values["checked_in"] = "yes" if a.checked_in else "no"
    return [_cell(values[c]) for c in CSV_COLUMNS]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)  # RFC 4180
    return out.getvalue()


@dataclass(frozen=True)
class Correction:
    """The ticket's attendee after a correction; ``corrected_at`` is the latest correction (None: as bought)."""

    ticket: Ticket
    attendee: Attendee
    corrected_at: datetime | None


async def correct_attendee(
    session: AsyncSession, who: Principal, ticket_id: uuid.UUID, *, name: str, email: str | None, now: datetime
) -> Correction:
    """Set the ticket's attendee name (and e-mail, when given), in the caller's transaction.

    Only a valid, unused ticket (``active``) of an event that has not started can be corrected: else Conflict
    (``ticket_not_active``, ``event_started``). Nothing changes when the values are the same.
    """
    ticket = await get_visible(session, who, Ticket, ticket_id)
    if ticket.status != TicketStatus.ACTIVE:
        raise Conflict(f"the ticket is {ticket.status}", code="ticket_not_active", status_now=ticket.status)
    event = await session.get(Event, ticket.event_id)
    assert event is not None
    if now >= event.starts_at:
        raise Conflict("the event has started: attendees can no longer be changed", code="event_started")
    attendee = await _attendee_for_update(session, ticket)
    email = email or attendee.email
    if (attendee.name, attendee.email) != (name, email):
        attendee.name, attendee.email, attendee.updated_at = name, email, now
        await session.flush()
    return Correction(ticket, attendee, attendee.updated_at)


def correction_key(ticket_id: uuid.UUID, corrected_at: datetime) -> str:
    """The cause key of one correction: a repeat of the same request (nothing new) finds the same key, so the PDF is
    re-issued once per correction, never twice and never not at all."""
    return str(uuid.uuid5(_CORRECTION_NAMESPACE, f"{ticket_id}\x00{corrected_at.isoformat()}"))


async def _attendee_for_update(session: AsyncSession, ticket: Ticket) -> Attendee:
    """The ticket's attendee row, locked; a ticket issued without one gets one (the buyer, as printed)."""
    if ticket.attendee_id is not None:
        found = await session.get(Attendee, ticket.attendee_id, with_for_update=True)
        if found is not None:
            return found
    order = await session.get(Order, ticket.order_id)
    assert order is not None
    attendee = Attendee(order_id=order.id, name=order.buyer_name, email=order.buyer_email)
    session.add(attendee)
    await session.flush()
    ticket.attendee_id = attendee.id
    return attendee
