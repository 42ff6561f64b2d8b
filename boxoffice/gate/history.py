"""The door's history: an event's scan attempts, newest first, for its organisers."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.models import Scan


async def list_scans(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
    gate_id: str | None = None,
    result: str | None = None,
    ticket_id: uuid.UUID | None = None,
) -> list[Scan]:
    """The event's scans, newest first (ties by id, so pages never overlap), optionally of one gate, result or
    ticket. The caller has checked that the event is the organiser's."""
    stmt = select(Scan).where(col(Scan.event_id) == event_id)
    if gate_id is not None:
        stmt = stmt.where(col(Scan.gate_id) == gate_id)
    if result is not None:
        stmt = stmt.where(col(Scan.result) == result)
    if ticket_id is not None:
        stmt = stmt.where(col(Scan.ticket_id) == ticket_id)
    stmt = stmt.order_by(col(Scan.scanned_at).desc(), col(Scan.id)).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())
