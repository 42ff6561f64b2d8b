"""Inventory holds that can never oversell.

The one rule: ``held + sold ≤ capacity`` and ``held`` equals the sum of active holds, at every moment.
Every change of a hold's status and the matching change of ``ticket_types.held`` happen in one transaction,
and seats are taken only by a single conditional ``UPDATE … WHERE held + sold + :q <= capacity``, so
concurrent buyers can never take the same seat (a CHECK constraint backs it in the schema).

Vouchers (issue 13): seats reserved for voucher holders (``ticket_types.reserved``) are left by ordinary holds; a
hold with a voucher code first takes the voucher's uses (``vouchers.redemption``), then its seats, in one
transaction, and every hold that ends unsold gives its uses back with its seats.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal
from boxoffice.errors import Conflict, NotFound
from boxoffice.models import Event, Hold, TicketType
from boxoffice.models.states import HoldStatus, sources_of
from boxoffice.models.waitlist import kept_for_waitlist, mark_seats_kept
from boxoffice.vouchers import redemption

_TT = TicketType.__table__  # type: ignore[attr-defined]
_H = Hold.__table__  # type: ignore[attr-defined]
_EV = Event.__table__  # type: ignore[attr-defined]


class HoldNotFound(NotFound):
    code, title = "hold_not_found", "Hold not found"


class HoldExpired(Conflict):
    code, title = "hold_expired", "Hold expired"


class HoldUnavailable(Conflict):
    code, title = "hold_unavailable", "Hold unavailable"


def check_claimable(
    hold: Hold | None, hold_id: uuid.UUID, *, organization_id: str, user_id: str, order_id: uuid.UUID, now: datetime
) -> None:
    """Raise why ``hold`` cannot become part of order ``order_id`` (the buyer's own, active, unexpired, not in
    another checkout), or return when it can. A hold already claimed by this very order can."""
    if hold is None or hold.organization_id != organization_id or hold.user_id != user_id:
        raise HoldNotFound(f"hold {hold_id} not found", hold_id=str(hold_id))
    if hold.status == HoldStatus.ACTIVE and hold.order_id == order_id:
        return
    if hold.status == HoldStatus.EXPIRED or (hold.status == HoldStatus.ACTIVE and hold.expires_at <= now):
        raise HoldExpired(f"hold {hold_id} has expired", hold_id=str(hold_id))
    if hold.status != HoldStatus.ACTIVE or hold.order_id is not None:
        taken = " and in another checkout" if hold.order_id else ""
        raise HoldUnavailable(f"hold {hold_id} is {hold.status}{taken}", hold_id=str(hold_id))


async def get_own_hold(session: AsyncSession, who: Principal, hold_id: uuid.UUID) -> Hold:
    hold = await session.get(Hold, hold_id)
    if hold is None or hold.organization_id != who.org_id or hold.user_id != who.user_id:
        raise HoldNotFound("hold not found")
    return hold


async def end_holds(session: AsyncSession, where: list[Any], status: HoldStatus, now: datetime) -> list[Hold]:
    """Move matching active holds to ``status`` and give their seats back, in the caller's transaction, with the
    uses of the vouchers they redeemed (issue 13: voucher rows are locked before ticket types, as on every path)."""
    ended = (
        await session.execute(
            update(Hold)
            .where(and_(col(Hold.status).in_(sources_of(HoldStatus, status)), *where))
            .values(status=status.value, ended_at=now)
            .returning(col(Hold.id), col(Hold.ticket_type_id), col(Hold.quantity), col(Hold.voucher_id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    per_type: Counter[uuid.UUID] = Counter()
    uses: Counter[uuid.UUID] = Counter()
    for _id, tt_id, qty, voucher_id in ended:
        per_type[tt_id] += qty
        if voucher_id is not None:
            uses[voucher_id] += qty
    reserved = await redemption.give_back(session, uses) if uses else None
    await move_seats(session, per_type, held=-1, reserved=reserved)
    return [Hold(id=i, ticket_type_id=t, quantity=q) for i, t, q, _v in ended]  # type: ignore[call-arg]


async def move_seats(
    session: AsyncSession,
    per_type: Mapping[uuid.UUID, int],
    *,
    held: int = 0,
    sold: int = 0,
    reserved: Mapping[uuid.UUID, int] | None = None,
) -> None:
    """Move ``per_type[tt]`` seats of each ticket type: ``held``/``sold`` are -1, 0 or +1 (e.g. a sale is held=-1,
    sold=+1; a refund or a void, sold=-1). ``reserved[tt]`` of the seats given back go into the reservation of the
    vouchers they came from (issue 13, ``vouchers.redemption.give_back``) instead of on sale. Ticket types are
    updated in a fixed order, so two transactions moving seats of the same types cannot deadlock; the schema's
    CHECK keeps held + sold within capacity."""
    back = reserved or {}
    for tt_id in sorted(set(per_type) | set(back)):
        n = per_type.get(tt_id, 0)
        values = {"held": col(TicketType.held) + held * n, "sold": col(TicketType.sold) + sold * n}
        if back.get(tt_id):
            values["reserved"] = col(TicketType.reserved) + back[tt_id]
        stmt = update(TicketType).where(col(TicketType.id) == tt_id)
        if (held + sold) * n >= 0:
            await session.execute(stmt.values(**values))
            continue
        # Issue 13: seats come back. Those the waiting list wants are kept for it in this same statement (ordinary
        # holds cannot take them), and the list is told once the transaction commits.
        after = (values["held"], values["sold"], values.get("reserved", col(TicketType.reserved)))
        waiting = col(TicketType.waitlist_waiting)
        values["waitlist_reserved"] = kept_for_waitlist(col(TicketType.capacity), *after, waiting)
        if (await session.execute(stmt.values(**values).returning(waiting))).scalar_one_or_none():
            mark_seats_kept(session, tt_id)


async def release_hold(session: AsyncSession, who: Principal, hold_id: uuid.UUID, *, now: datetime) -> Hold:
    """Release a buyer's hold at once; idempotent for holds already released or expired."""
    hold = await get_own_hold(session, who, hold_id)
    if hold.order_id is not None and hold.status == HoldStatus.ACTIVE:
        raise Conflict("the hold belongs to a checkout in progress; cancel the order", code="hold_in_checkout")
    if hold.status == HoldStatus.CONVERTED:
        raise Conflict("the hold was converted into an order", code="hold_converted")
    if hold.status == HoldStatus.ACTIVE:
        ended = await end_holds(
            session, [col(Hold.id) == hold_id, col(Hold.order_id).is_(None)], HoldStatus.RELEASED, now
        )
        await session.refresh(hold)
        if not ended and hold.status == HoldStatus.ACTIVE:  # a checkout claimed it between the read and the update
            raise Conflict("the hold belongs to a checkout in progress; cancel the order", code="hold_in_checkout")
    return hold


async def release_order_holds(session: AsyncSession, order_id: str, now: datetime) -> int:
    """Give back the seats of every active hold order ``order_id`` claimed. Returns how many holds were released."""
    ended = await end_holds(session, [col(Hold.order_id) == uuid.UUID(order_id)], HoldStatus.RELEASED, now)
    return len(ended)


async def expire_due_holds(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """Expire unclaimed active holds past their time and return their seats. Returns how many expired. First,
    the seats reserved by vouchers whose validity is over go back on sale (issue 13), on the same sweep."""
    await redemption.release_lapsed(session, now=now)
    due = (
        select(col(Hold.id))
        .where(col(Hold.status) == HoldStatus.ACTIVE, col(Hold.order_id).is_(None), col(Hold.expires_at) <= now)
        .order_by(col(Hold.expires_at))
        .limit(limit)
    )
    ended = await end_holds(
        session,
        [col(Hold.id).in_(due), col(Hold.order_id).is_(None), col(Hold.expires_at) <= now],
        HoldStatus.EXPIRED,
        now,
    )
    return len(ended)
