"""Buyers joining and leaving a ticket type's waiting list, and where they stand in it.

Guarantees (in the caller's transaction; a refused request changes nothing):
- a buyer joins only when they cannot have the seats now: fewer than ``quantity`` are on sale (``seats_available``
  otherwise), within the ticket type's sales window, ``max_per_order`` and capacity; one live entry per buyer and
  ticket type (``already_waiting``, backed by a partial unique index);
- joining and leaving move ``ticket_types.waitlist_waiting`` in the same statement that takes the ticket type's row
  lock, so positions follow the order in which joins committed, and the seats kept for the list
  (``waitlist_reserved``) are recomputed there: free seats go to the list first while it wants them;
- leaving while holding an offer gives the offer's seats back (to the next in line first); an offer a checkout
  has claimed is the checkout's (``offer_in_checkout``: cancel the order first);
- ``place`` is the entry's place among those still waiting (1: next to be offered seats).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal
from boxoffice.catalogue.rules import sales_refusal
from boxoffice.errors import Conflict, NotFound, ValidationFailed
from boxoffice.inventory.holds import end_holds
from boxoffice.models import Event, Hold, TicketType, WaitlistEntry
from boxoffice.models.states import HoldStatus, WaitlistStatus
from boxoffice.models.waitlist import LIVE_WAITLIST_STATUSES, kept_for_waitlist
from boxoffice.waitlist.contract import SIGNAL_LEFT, SIGNAL_OFFER_DECLINED

_TT = TicketType.__table__  # type: ignore[attr-defined]
# Seats an ordinary buyer could take now (what availability shows).
_ON_SALE = _TT.c.capacity - _TT.c.held - _TT.c.sold - _TT.c.reserved - _TT.c.waitlist_reserved


class EntryNotFound(NotFound):
    code, title = "waitlist_entry_not_found", "Waiting list entry not found"


@dataclass(frozen=True)
class EntryView:
    """An entry and its place among those still waiting (None once it is no longer waiting)."""

    entry: WaitlistEntry
    place: int | None


@dataclass(frozen=True)
class Left:
    """The entry after leaving, and the signal its list is sent (None: it had left the line before)."""

    entry: WaitlistEntry
    signal: str | None


def waiting_seats(waiting_after: object) -> dict[str, object]:
    """The new ``waitlist_waiting`` and the seats then kept for the list, as an UPDATE's values."""
    kept = kept_for_waitlist(_TT.c.capacity, _TT.c.held, _TT.c.sold, _TT.c.reserved, waiting_after)
    return {"waitlist_waiting": waiting_after, "waitlist_reserved": kept}


async def join(
    session: AsyncSession, who: Principal, ticket_type_id: uuid.UUID, quantity: int, *, now: datetime
) -> EntryView:
    """Put the buyer at the end of the ticket type's waiting list for ``quantity`` seats (see the guarantees)."""
    row = (
        await session.execute(
            select(TicketType, Event)
            .join(Event, col(Event.id) == col(TicketType.event_id))
            .where(col(TicketType.id) == ticket_type_id)
        )
    ).first()
    if row is None or row[0].organization_id != who.org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    tt, event = row
    if tt.max_per_order is not None and quantity > tt.max_per_order:
        raise ValidationFailed(
            f"at most {tt.max_per_order} per order", code="max_per_order_exceeded", max_per_order=tt.max_per_order
        )
    if quantity > tt.capacity:  # it could never be offered, and would hold up everyone behind it
        raise ValidationFailed(
            f"the ticket type has {tt.capacity} seats in all", code="quantity_exceeds_capacity", capacity=tt.capacity
        )
    if (closed := sales_refusal(tt.sales_start, tt.sales_end, event.ends_at, now, event.cancelled_at)) is not None:
        raise closed
    joined = await session.execute(
        update(_TT)
        .where(_TT.c.id == ticket_type_id, quantity > _ON_SALE)
        .values(**waiting_seats(_TT.c.waitlist_waiting + quantity))
        .returning(_ON_SALE)
    )
    if joined.first() is None:
        available = (await session.execute(select(_ON_SALE).where(_TT.c.id == ticket_type_id))).scalar_one()
        raise Conflict(
            f"{available} seats are on sale: hold them instead", code="seats_available", available=max(available, 0)
        )
    # The row lock is ours until the transaction ends: the line and its positions cannot change meanwhile.
    if (mine := await _live_entry(session, ticket_type_id, who.user_id)) is not None:
        raise Conflict("you are in this waiting list already", code="already_waiting", entry_id=str(mine.id))
    last = select(func.coalesce(func.max(col(WaitlistEntry.position)), 0)).where(
        col(WaitlistEntry.ticket_type_id) == ticket_type_id
    )
    entry = WaitlistEntry(
        organization_id=who.org_id,
        event_id=tt.event_id,
        ticket_type_id=ticket_type_id,
        user_id=who.user_id,
        quantity=quantity,
        position=int((await session.execute(last)).scalar_one()) + 1,
        status=WaitlistStatus.WAITING,
        created_at=now,
    )
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError:  # only a concurrent join of the same buyer could, and the row lock rules that out
        raise Conflict("you are in this waiting list already", code="already_waiting") from None
    return EntryView(entry, await place_of(session, entry))


async def leave(session: AsyncSession, who: Principal, entry_id: uuid.UUID, *, now: datetime) -> Left:
    """Take the buyer's entry out of the line (see the guarantees); a repeat answers the entry as it is."""
    entry = await own_entry(session, who, entry_id)
    signal: str | None = None
    if entry.status == WaitlistStatus.OFFERED and entry.hold_id is not None:
        hold = await session.get(Hold, entry.hold_id)
        assert hold is not None
        if hold.status == HoldStatus.ACTIVE and hold.order_id is not None:
            raise Conflict("a checkout holds this offer: cancel the order first", code="offer_in_checkout")
        # The offer's seats first (holds before ticket types, as every path locks them): the next in line gets them.
        await end_holds(session, [col(Hold.id) == hold.id, col(Hold.order_id).is_(None)], HoldStatus.RELEASED, now)
    await session.execute(
        select(col(TicketType.id)).where(col(TicketType.id) == entry.ticket_type_id).with_for_update()
    )
    entry = await _locked(session, entry_id)
    if entry.status == WaitlistStatus.WAITING:
        await session.execute(
            update(_TT)
            .where(_TT.c.id == entry.ticket_type_id)
            .values(**waiting_seats(_TT.c.waitlist_waiting - entry.quantity))
        )
        entry.status, entry.ended_at, signal = WaitlistStatus.LEFT, now, SIGNAL_LEFT
    elif entry.status == WaitlistStatus.OFFERED:
        hold = await session.get(Hold, entry.hold_id, populate_existing=True) if entry.hold_id else None
        if hold is not None and hold.status == HoldStatus.CONVERTED:
            entry.status = WaitlistStatus.TAKEN  # bought meanwhile: there is nothing to leave
        else:
            entry.status, signal = WaitlistStatus.LEFT, SIGNAL_OFFER_DECLINED
        entry.ended_at = now
    await session.flush()
    return Left(entry, signal)


async def own_entry(session: AsyncSession, who: Principal, entry_id: uuid.UUID) -> WaitlistEntry:
    """The buyer's own entry, else ``waitlist_entry_not_found``."""
    entry = await session.get(WaitlistEntry, entry_id)
    if entry is None or entry.organization_id != who.org_id or entry.user_id != who.user_id:
        raise EntryNotFound("waiting list entry not found")
    return entry


async def entry_view(session: AsyncSession, who: Principal, entry_id: uuid.UUID) -> EntryView:
    entry = await own_entry(session, who, entry_id)
    return EntryView(entry, await place_of(session, entry))


async def buyer_entries(session: AsyncSession, who: Principal, *, live_only: bool) -> list[EntryView]:
    """The buyer's entries (those still in a line, or all), newest first."""
    stmt = select(WaitlistEntry).where(
        col(WaitlistEntry.organization_id) == who.org_id, col(WaitlistEntry.user_id) == who.user_id
    )
    if live_only:
        stmt = stmt.where(col(WaitlistEntry.status).in_(LIVE_WAITLIST_STATUSES))
    entries = (await session.execute(stmt.order_by(col(WaitlistEntry.created_at).desc()))).scalars().all()
    return [EntryView(e, await place_of(session, e)) for e in entries]


async def line_of(
    session: AsyncSession, org_id: str, ticket_type_id: uuid.UUID, *, live_only: bool
) -> tuple[TicketType, list[EntryView]]:
    """The organiser's view of a ticket type's line, in order (``ticket_type_not_found`` for another org's)."""
    tt = await session.get(TicketType, ticket_type_id)
    if tt is None or tt.organization_id != org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    stmt = select(WaitlistEntry).where(col(WaitlistEntry.ticket_type_id) == ticket_type_id)
    if live_only:
        stmt = stmt.where(col(WaitlistEntry.status).in_(LIVE_WAITLIST_STATUSES))
    entries = (await session.execute(stmt.order_by(col(WaitlistEntry.position)))).scalars().all()
    views, place = [], 0
    for e in entries:
        place += e.status == WaitlistStatus.WAITING
        views.append(EntryView(e, place if e.status == WaitlistStatus.WAITING else None))
    return tt, views


async def place_of(session: AsyncSession, entry: WaitlistEntry) -> int | None:
    if entry.status != WaitlistStatus.WAITING:
        return None
    ahead = select(func.count()).where(
        col(WaitlistEntry.ticket_type_id) == entry.ticket_type_id,
        col(WaitlistEntry.status) == WaitlistStatus.WAITING.value,
        col(WaitlistEntry.position) < entry.position,
    )
    return int((await session.execute(ahead)).scalar_one()) + 1


async def _live_entry(session: AsyncSession, ticket_type_id: uuid.UUID, user_id: str) -> WaitlistEntry | None:
    stmt = select(WaitlistEntry).where(
        col(WaitlistEntry.ticket_type_id) == ticket_type_id,
        col(WaitlistEntry.user_id) == user_id,
        col(WaitlistEntry.status).in_(LIVE_WAITLIST_STATUSES),
    )
    return (await session.execute(stmt)).scalars().first()


async def _locked(session: AsyncSession, entry_id: uuid.UUID) -> WaitlistEntry:
    stmt = select(WaitlistEntry).where(col(WaitlistEntry.id) == entry_id).with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
