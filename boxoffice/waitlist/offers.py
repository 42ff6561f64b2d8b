"""Offers: the seats kept for a waiting list, offered to the buyers in line, in order, and passed on when unused.

``advance`` is the list's one step, in one transaction (the list's run calls it whenever it wakes). Guarantees:
- an offer whose time is up and that no checkout has claimed gives its seats back (its hold expires) and is
  ``passed``; an offer whose hold was bought is ``taken``; one whose hold ended otherwise (released, or expired by
  the hold sweep) is ``passed``; an offer a checkout claimed stays open until that checkout ends;
- the seats kept for the list are then what it may have: as many as its waiting buyers want, of the seats not
  held, sold or reserved for voucher holders (seats that came back, and seats added to the capacity);
- offers go to the waiting entries in line order: the first in line whose seats are all kept gets a hold of its
  ``quantity`` seats for ``offer_seconds`` (taken out of the kept seats, so nobody else can take them), then the
  next; an entry whose seats are not all kept yet stops the line (nobody behind it is served first);
- once sales are over (ended, or the event cancelled), the line is closed: its waiting entries end ``closed``;
  while they have not started again (an organiser moved them), nothing is offered.

Locks are taken holds first, then the ticket type's row (as the hold sweep and every release take them), then its
entries, so a step and a release never deadlock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.catalogue.rules import sales_refusal
from boxoffice.inventory.holds import end_holds
from boxoffice.models import Event, Hold, TicketType, WaitlistEntry
from boxoffice.models.states import HoldStatus, WaitlistStatus
from boxoffice.models.waitlist import LIVE_WAITLIST_STATUSES, SEATS_KEPT, kept_for_waitlist
from boxoffice.waitlist.contract import AdvanceResult, OpenOffer

_TT = TicketType.__table__  # type: ignore[attr-defined]
_OFFER_NAMESPACE = uuid.UUID("1f0b6a3e-54c2-4f7d-9b8e-2a6d0c9e7f41")
_ENDED = (HoldStatus.RELEASED.value, HoldStatus.EXPIRED.value)


def offer_hold_id(entry_id: uuid.UUID) -> uuid.UUID:
    """The one hold an entry's offer can be (a retried step offers the same hold)."""
    return uuid.uuid5(_OFFER_NAMESPACE, str(entry_id))


async def advance(
    session: AsyncSession, ticket_type_id: uuid.UUID, *, now: datetime, offer_seconds: int
) -> AdvanceResult:
    """Settle the list's offers and offer its kept seats to the next in line (see the module's guarantees)."""
    result = AdvanceResult(str(ticket_type_id))
    offered = (col(WaitlistEntry.ticket_type_id) == ticket_type_id) & (
        col(WaitlistEntry.status) == WaitlistStatus.OFFERED.value
    )
    due = (
        select(col(Hold.id))
        .join(WaitlistEntry, col(WaitlistEntry.hold_id) == col(Hold.id))
        .where(offered, col(Hold.status) == HoldStatus.ACTIVE.value)
    )
    unclaimed_due = [col(Hold.id).in_(due), col(Hold.order_id).is_(None), col(Hold.expires_at) <= now]
    await end_holds(session, unclaimed_due, HoldStatus.EXPIRED, now)

    tt_stmt = select(TicketType).where(col(TicketType.id) == ticket_type_id).with_for_update()
    tt = (await session.execute(tt_stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if tt is None:
        result.closed = True
        return result
    rows = await session.execute(
        select(WaitlistEntry, Hold)
        .outerjoin(Hold, col(Hold.id) == col(WaitlistEntry.hold_id))
        .where(offered)
        .order_by(col(WaitlistEntry.position))
        .execution_options(populate_existing=True)
    )
    for entry, hold in rows.all():
        if hold is not None and hold.status == HoldStatus.CONVERTED:
            entry.status, entry.ended_at = WaitlistStatus.TAKEN, now
            result.taken.append(str(entry.id))
        elif hold is None or hold.status in _ENDED:
            entry.status, entry.ended_at = WaitlistStatus.PASSED, now
            result.passed.append(str(entry.id))
        else:
            assert entry.offer_expires_at is not None
            result.open_offers.append(
                OpenOffer(
                    str(entry.id),
                    str(hold.id),
                    entry.quantity,
                    entry.offer_expires_at.isoformat(),
                    in_checkout=hold.order_id is not None,
                )
            )

    event = await session.get(Event, tt.event_id)
    assert event is not None
    refusal = sales_refusal(tt.sales_start, tt.sales_end, event.ends_at, now, event.cancelled_at)
    if refusal is None:
        await _offer(session, tt, now=now, offer_seconds=offer_seconds, result=result)
    elif refusal.code != "sales_not_started":  # over for good (ended, or the event cancelled); not yet: wait
        await _close(session, tt, now)
        result.closed = True
    await session.flush()
    waiting = await session.execute(
        select(func.count(), func.coalesce(func.sum(col(WaitlistEntry.quantity)), 0)).where(
            col(WaitlistEntry.ticket_type_id) == ticket_type_id,
            col(WaitlistEntry.status) == WaitlistStatus.WAITING.value,
        )
    )
    result.waiting_entries, result.waiting_seats = (int(n) for n in waiting.one())
    result.kept_seats = (await session.execute(select(_TT.c.waitlist_reserved).where(_TT.c.id == tt.id))).scalar_one()
    # This step has just served what came back: no need to wake the list again for it after the commit.
    getattr(session, "sync_session", session).info.get(SEATS_KEPT, set()).discard(ticket_type_id)
    return result


async def _offer(
    session: AsyncSession, tt: TicketType, *, now: datetime, offer_seconds: int, result: AdvanceResult
) -> None:
    """Keep what the list may have, then offer it to the waiting entries in line order."""
    kept = kept_for_waitlist(_TT.c.capacity, _TT.c.held, _TT.c.sold, _TT.c.reserved, _TT.c.waitlist_waiting)
    left = (
        await session.execute(
            update(_TT).where(_TT.c.id == tt.id).values(waitlist_reserved=kept).returning(_TT.c.waitlist_reserved)
        )
    ).scalar_one()
    waiting = await session.execute(
        select(WaitlistEntry)
        .where(col(WaitlistEntry.ticket_type_id) == tt.id, col(WaitlistEntry.status) == WaitlistStatus.WAITING.value)
        .order_by(col(WaitlistEntry.position))
        .execution_options(populate_existing=True)
    )
    expires_at = now + timedelta(seconds=offer_seconds)
    for entry in waiting.scalars():
        q = entry.quantity
        if q > left:
            break  # the first in line waits for all its seats; nobody behind it goes first
        taken = await session.execute(
            update(_TT)
            .where(
                _TT.c.id == tt.id,
                _TT.c.waitlist_reserved >= q,
                _TT.c.held + _TT.c.sold + _TT.c.reserved + q <= _TT.c.capacity,  # never voucher holders' seats
            )
            .values(
                held=_TT.c.held + q,
                waitlist_reserved=_TT.c.waitlist_reserved - q,
                waitlist_waiting=_TT.c.waitlist_waiting - q,
            )
            .returning(_TT.c.id)
        )
        if taken.first() is None:
            break
        hold = Hold(
            id=offer_hold_id(entry.id),
            organization_id=entry.organization_id,
            event_id=entry.event_id,
            ticket_type_id=tt.id,
            user_id=entry.user_id,
            quantity=q,
            status=HoldStatus.ACTIVE,
            expires_at=expires_at,
            created_at=now,
        )
        session.add(hold)
        await session.flush()  # the hold before the entry that points at it
        entry.status, entry.hold_id = WaitlistStatus.OFFERED, hold.id
        entry.offered_at, entry.offer_expires_at = now, expires_at
        left -= q
        result.offered.append(str(entry.id))
        result.open_offers.append(OpenOffer(str(entry.id), str(hold.id), q, expires_at.isoformat()))


async def _close(session: AsyncSession, tt: TicketType, now: datetime) -> None:
    """Sales are over: the waiting entries end ``closed`` and the list keeps no seats."""
    await session.execute(
        update(WaitlistEntry)
        .where(col(WaitlistEntry.ticket_type_id) == tt.id, col(WaitlistEntry.status) == WaitlistStatus.WAITING.value)
        .values(status=WaitlistStatus.CLOSED.value, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(update(_TT).where(_TT.c.id == tt.id).values(waitlist_waiting=0, waitlist_reserved=0))


async def lists_with_buyers(session: AsyncSession, *, limit: int) -> list[uuid.UUID]:
    """The ticket types whose waiting list has entries still in line or holding an offer."""
    stmt = (
        select(col(WaitlistEntry.ticket_type_id))
        .where(col(WaitlistEntry.status).in_(LIVE_WAITLIST_STATUSES))
        .group_by(col(WaitlistEntry.ticket_type_id))
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())
