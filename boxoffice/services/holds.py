"""Inventory holds that can never oversell.

The one rule: ``held + sold ≤ capacity`` and ``held`` equals the sum of active holds, at every moment.
Every change of a hold's status and the matching change of ``ticket_types.held`` happen in one transaction,
and seats are taken only by a single conditional ``UPDATE … WHERE held + sold + :q <= capacity``, so
concurrent buyers can never take the same seat (a CHECK constraint backs it in the schema).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal
from boxoffice.errors import Conflict, NotFound, SoldOut, ValidationFailed
from boxoffice.models import Event, Hold, TicketType
from boxoffice.models.states import HoldStatus, sources_of
from boxoffice.models.types import UTCDateTime

_TT = TicketType.__table__  # type: ignore[attr-defined]
_H = Hold.__table__  # type: ignore[attr-defined]

# Statements are built once: this is the hottest path of an on-sale night.
_LOOKUP = (
    select(
        _TT.c.organization_id,
        _TT.c.event_id,
        _TT.c.max_per_order,
        _TT.c.sales_start,
        _TT.c.sales_end,
        Event.__table__.c.ends_at,  # type: ignore[attr-defined]
    )
    .join(Event.__table__, Event.__table__.c.id == _TT.c.event_id)  # type: ignore[attr-defined]
    .where(_TT.c.id == bindparam("tt_id"))
)
_TAKE = (
    update(_TT)
    .where(and_(_TT.c.id == bindparam("tt_id"), _TT.c.held + _TT.c.sold + bindparam("q") <= _TT.c.capacity))
    .values(held=_TT.c.held + bindparam("q"))
    .returning(_TT.c.id)
)
_INSERT = insert(_H)
# PostgreSQL: every rule of a hold (organisation, sales window, per-order limit, seats left) and the insert in
# one statement. The hot row's lock is held for the shortest time and a successful hold costs one round trip
# plus the commit; only a refused one pays for the lookup that says why.
_TAKE_AND_INSERT = text(
    "WITH taken AS (UPDATE ticket_types tt SET held = tt.held + :quantity FROM events e "
    "WHERE tt.id = :ticket_type_id AND tt.organization_id = :organization_id AND e.id = tt.event_id "
    "AND (tt.max_per_order IS NULL OR :quantity <= tt.max_per_order) "
    "AND (tt.sales_start IS NULL OR tt.sales_start <= :created_at) "
    "AND (tt.sales_end IS NULL OR :created_at < tt.sales_end) AND :created_at < e.ends_at "
    "AND tt.held + tt.sold + :quantity <= tt.capacity RETURNING tt.id, tt.event_id) "
    "INSERT INTO holds (id, organization_id, event_id, ticket_type_id, user_id, quantity, status, expires_at, "
    "order_id, created_at, ended_at) SELECT :id, :organization_id, taken.event_id, taken.id, :user_id, :quantity, "
    ":status, :expires_at, NULL, :created_at, NULL FROM taken RETURNING holds.event_id"
).bindparams(bindparam("expires_at", type_=UTCDateTime()), bindparam("created_at", type_=UTCDateTime()))
_AVAILABLE = select(_TT.c.capacity - _TT.c.held - _TT.c.sold).where(_TT.c.id == bindparam("tt_id"))


async def _refusal(
    conn: Any, who: Principal, ticket_type_id: uuid.UUID, quantity: int, now: datetime, *, only_rules: bool = False
) -> Any:
    """Raise the error for the first rule a hold breaks. With ``only_rules``, return the ticket type's row when no
    rule but capacity could be at fault (the caller then takes the seats)."""
    row = (await conn.execute(_LOOKUP, {"tt_id": ticket_type_id})).first()
    if row is None or row.organization_id != who.org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    if row.max_per_order is not None and quantity > row.max_per_order:
        raise ValidationFailed(
            f"at most {row.max_per_order} per order", code="max_per_order_exceeded", max_per_order=row.max_per_order
        )
    if row.sales_start is not None and now < row.sales_start:
        raise Conflict("sales have not started", code="sales_not_started", sales_start=row.sales_start.isoformat())
    if (row.sales_end is not None and now >= row.sales_end) or now >= row.ends_at:
        raise Conflict("sales have ended", code="sales_ended")
    if only_rules:
        return row
    available = max((await conn.execute(_AVAILABLE, {"tt_id": ticket_type_id})).scalar_one(), 0)
    raise SoldOut(f"only {available} left", available=available)


async def create_hold(
    session: AsyncSession, who: Principal, ticket_type_id: uuid.UUID, quantity: int, *, ttl_seconds: int, now: datetime
) -> Hold:
    """Take ``quantity`` seats of a ticket type for ``ttl_seconds``, or raise ``SoldOut`` changing nothing."""
    if quantity < 1:
        raise ValidationFailed("quantity must be at least 1", code="invalid_quantity")
    conn = await session.connection()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": who.org_id,
        "ticket_type_id": ticket_type_id,
        "user_id": who.user_id,
        "quantity": quantity,
        "status": HoldStatus.ACTIVE.value,
        "expires_at": now + timedelta(seconds=ttl_seconds),
        "created_at": now,
    }
    if conn.dialect.name == "postgresql":
        inserted = (await conn.execute(_TAKE_AND_INSERT, values)).first()
        if inserted is not None:
            return Hold(**values, event_id=inserted.event_id, order_id=None, ended_at=None)
        await _refusal(conn, who, ticket_type_id, quantity, now)  # raises the rule that refused it
        taken = False
    else:
        row = await _refusal(conn, who, ticket_type_id, quantity, now, only_rules=True)
        values["event_id"] = row.event_id
        taken = (await conn.execute(_TAKE, {"tt_id": ticket_type_id, "q": quantity})).first() is not None
        if taken:
            await conn.execute(_INSERT, values)
    if not taken:
        available = max((await conn.execute(_AVAILABLE, {"tt_id": ticket_type_id})).scalar_one(), 0)
        raise SoldOut(f"only {available} left", available=available)
    return Hold(**values, order_id=None, ended_at=None)  # a detached copy of the insert


async def get_own_hold(session: AsyncSession, who: Principal, hold_id: uuid.UUID) -> Hold:
    hold = await session.get(Hold, hold_id)
    if hold is None or hold.organization_id != who.org_id or hold.user_id != who.user_id:
        raise NotFound("hold not found", code="hold_not_found")
    return hold


async def _end_holds(session: AsyncSession, where: list, status: HoldStatus, now: datetime) -> list[Hold]:  # type: ignore[type-arg]
    """Move matching active holds to ``status`` and give their seats back, in the caller's transaction."""
    ended = (
        await session.execute(
            update(Hold)
            .where(and_(col(Hold.status).in_(sources_of(HoldStatus, status)), *where))
            .values(status=status.value, ended_at=now)
            .returning(col(Hold.id), col(Hold.ticket_type_id), col(Hold.quantity))
            .execution_options(synchronize_session=False)
        )
    ).all()
    per_type: Counter[uuid.UUID] = Counter()
    for _id, tt_id, qty in ended:
        per_type[tt_id] += qty
    for tt_id in sorted(per_type):  # a fixed order, so two sweepers cannot deadlock
        await session.execute(
            update(TicketType)
            .where(TicketType.id == tt_id)  # type: ignore[arg-type]
            .values(held=TicketType.held - per_type[tt_id])
        )
    return [Hold(id=i, ticket_type_id=t, quantity=q) for i, t, q in ended]  # type: ignore[call-arg]


async def release_hold(session: AsyncSession, who: Principal, hold_id: uuid.UUID, *, now: datetime) -> Hold:
    """Release a buyer's hold at once; idempotent for holds already released or expired."""
    hold = await get_own_hold(session, who, hold_id)
    if hold.order_id is not None and hold.status == HoldStatus.ACTIVE:
        raise Conflict("the hold belongs to a checkout in progress; cancel the order", code="hold_in_checkout")
    if hold.status == HoldStatus.CONVERTED:
        raise Conflict("the hold was converted into an order", code="hold_converted")
    if hold.status == HoldStatus.ACTIVE:
        await _end_holds(session, [Hold.id == hold_id, Hold.order_id.is_(None)], HoldStatus.RELEASED, now)  # type: ignore[union-attr]
        await session.refresh(hold)
    return hold


async def expire_due_holds(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """Expire unclaimed active holds past their time and return their seats. Returns how many expired."""
    due = (
        select(Hold.id)  # type: ignore[call-overload]
        .where(Hold.status == HoldStatus.ACTIVE, Hold.order_id.is_(None), Hold.expires_at <= now)  # type: ignore[union-attr]
        .order_by(Hold.expires_at)
        .limit(limit)
    )
    ended = await _end_holds(
        session,
        [col(Hold.id).in_(due), col(Hold.order_id).is_(None), col(Hold.expires_at) <= now],
        HoldStatus.EXPIRED,
        now,  # type: ignore[attr-defined,union-attr]
    )
    return len(ended)
