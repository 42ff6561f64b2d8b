"""The check-in sweep's rules: admitted tickets of ended events become ``used``; voids whose buyer was not told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.models import Event, Ticket, TicketVoid
from boxoffice.models.states import TicketStatus, sources_of


async def mark_used(session: AsyncSession, now: datetime, limit: int) -> int:
    """Up to ``limit`` admitted (``scanned``) tickets of events that have ended become ``used``; how many did.
    A ticket scanned later, while still valid (up to its event's end + 7 days), becomes used at the next sweep."""
    due = (
        select(col(Ticket.id))
        .join(Event, col(Event.id) == col(Ticket.event_id))
        .where(col(Ticket.status).in_(sources_of(TicketStatus, TicketStatus.USED)), col(Event.ends_at) <= now)
        .limit(limit)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return 0
    # The same statement names the state it starts from, so a ticket voided or refunded meanwhile is left alone.
    changed = await session.execute(
        update(Ticket)
        .where(col(Ticket.id).in_(ids), col(Ticket.status).in_(sources_of(TicketStatus, TicketStatus.USED)))
        .values(status=TicketStatus.USED.value)
        .returning(col(Ticket.id))
    )
    return len(changed.all())


async def unnotified_voids(session: AsyncSession, limit: int) -> list[TicketVoid]:
    """Voids whose buyer's message run was not started yet, oldest first."""
    rows = await session.execute(
        select(TicketVoid).where(col(TicketVoid.notified_at).is_(None)).order_by(col(TicketVoid.voided_at)).limit(limit)
    )
    return list(rows.scalars())
