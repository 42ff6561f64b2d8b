"""Inventory holds that can never oversell.

The one rule: ``held + sold ≤ capacity`` and ``held`` equals the sum of active holds, at every moment.
Every change of a hold's status and the matching change of ``ticket_types.held`` happen in one transaction,
and seats are taken only by a single conditional ``UPDATE … WHERE held + sold + :q <= capacity``, so
concurrent buyers can never take the same seat (a CHECK constraint backs it in the schema).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, null, or_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.auth import Principal
from boxoffice.catalogue.rules import sales_open_sql, sales_refusal
from boxoffice.errors import BoxofficeError, Conflict, NotFound, SoldOut, ValidationFailed
from boxoffice.inventory import buyer_limits
from boxoffice.inventory.buyer_limits import BuyerLimits
from boxoffice.models import Event, Hold, TicketType
from boxoffice.models.states import HoldStatus, sources_of
from boxoffice.models.types import UTCDateTime

_TT = TicketType.__table__  # type: ignore[attr-defined]
_H = Hold.__table__  # type: ignore[attr-defined]
_EV = Event.__table__  # type: ignore[attr-defined]


class HoldNotFound(NotFound):
    code, title = "hold_not_found", "Hold not found"


class HoldExpired(Conflict):
    code, title = "hold_expired", "Hold expired"


class HoldUnavailable(Conflict):
    code, title = "hold_unavailable", "Hold unavailable"


# Statements are built once: this is the hottest path of an on-sale night.
_LOOKUP = (
    select(
        _TT.c.organization_id, _TT.c.event_id, _TT.c.max_per_order, _TT.c.sales_start, _TT.c.sales_end, _EV.c.ends_at
    )
    .join(_EV, _EV.c.id == _TT.c.event_id)
    .where(_TT.c.id == bindparam("tt_id"))
)
_TAKE = (
    update(_TT)
    .where(and_(_TT.c.id == bindparam("tt_id"), _TT.c.held + _TT.c.sold + bindparam("q") <= _TT.c.capacity))
    .values(held=_TT.c.held + bindparam("q"))
    .returning(_TT.c.id)
)
_INSERT = insert(_H)
_AVAILABLE = select(_TT.c.capacity - _TT.c.held - _TT.c.sold).where(_TT.c.id == bindparam("tt_id"))


def _take_and_insert(capped: bool = False) -> Any:
    """PostgreSQL: every rule of a hold (organisation, sales window, per-order limit, seats left) and the insert in
    one statement. The hot row's lock is held for the shortest time and a successful hold costs one round trip
    plus the commit; only a refused one pays for the lookup that says why. (Bind names differ from column names:
    SQLAlchemy would read a parameter named like a column as a value to SET.)"""

    def p(name: str, **kw: Any) -> Any:
        return bindparam(f"p_{name}", **kw)

    quantity, created_at = p("quantity"), p("created_at", type_=UTCDateTime())
    taken = (
        update(_TT)
        .where(
            _TT.c.id == p("ticket_type_id"),
            _TT.c.organization_id == p("organization_id"),
            _EV.c.id == _TT.c.event_id,
            or_(_TT.c.max_per_order.is_(None), quantity <= _TT.c.max_per_order),
            sales_open_sql(_TT.c.sales_start, _TT.c.sales_end, _EV.c.ends_at, created_at),
            _TT.c.held + _TT.c.sold + quantity <= _TT.c.capacity,
            *_buyer_cap(capped, p("organization_id"), p("user_id"), quantity, (p("per_type"), p("per_event"))),
        )
        .values(held=_TT.c.held + quantity)
        .returning(_TT.c.id, _TT.c.event_id)
        .cte("taken")
    )
    row = select(
        p("id"),
        p("organization_id"),
        taken.c.event_id,
        taken.c.id,
        p("user_id"),
        quantity,
        p("status"),
        p("expires_at", type_=UTCDateTime()),
        null(),
        created_at,
        null(),
    )
    columns = ["id", "organization_id", "event_id", "ticket_type_id", "user_id", "quantity", "status"]
    columns += ["expires_at", "order_id", "created_at", "ended_at"]
    return insert(_H).from_select(columns, row).returning(_H.c.event_id)


def _buyer_cap(capped: bool, org: Any, user: Any, quantity: Any, limits: Any) -> list[Any]:
    """The per-buyer cap as one more condition of the hot statement (issue 10), only when a cap is set."""
    return [buyer_limits.may_hold_sql(org, user, _TT.c.event_id, _TT.c.id, quantity, limits)] if capped else []


_TAKE_AND_INSERT = _take_and_insert()
_TAKE_AND_INSERT_CAPPED = _take_and_insert(capped=True)


async def _refusal(
    conn: Any,
    who: Principal,
    ticket_type_id: uuid.UUID,
    quantity: int,
    now: datetime,
    *,
    only_rules: bool = False,
    limits: BuyerLimits = BuyerLimits(),
) -> Any:
    """Raise the error for the first rule a hold breaks (the buyer's cap last). With ``only_rules``, return the
    ticket type's row when no rule but capacity could be at fault (the caller then takes the seats)."""
    row = (await conn.execute(_LOOKUP, {"tt_id": ticket_type_id})).first()
    if row is None or row.organization_id != who.org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    if row.max_per_order is not None and quantity > row.max_per_order:
        raise ValidationFailed(
            f"at most {row.max_per_order} per order", code="max_per_order_exceeded", max_per_order=row.max_per_order
        )
    if (closed := sales_refusal(row.sales_start, row.sales_end, row.ends_at, now)) is not None:
        raise closed
    await buyer_limits.check(conn, who.org_id, who.user_id, row.event_id, ticket_type_id, quantity, limits)
    if only_rules:
        return row
    available = max((await conn.execute(_AVAILABLE, {"tt_id": ticket_type_id})).scalar_one(), 0)
    raise SoldOut(f"only {available} left", available=available)


async def create_hold(
    session: AsyncSession,
    who: Principal,
    ticket_type_id: uuid.UUID,
    quantity: int,
    *,
    ttl_seconds: int,
    now: datetime,
    limits: BuyerLimits = BuyerLimits(),
) -> Hold:
    """Take ``quantity`` seats of a ticket type for ``ttl_seconds``, or raise ``SoldOut`` (or ``HoldLimitReached``
    when the buyer would hold more than ``limits`` allow) changing nothing. Counted (issue 11): a hold once the
    caller commits it, a refusal at once by its code."""
    try:
        hold = await _take(session, who, ticket_type_id, quantity, ttl_seconds=ttl_seconds, now=now, limits=limits)
    except BoxofficeError as exc:
        metrics.HOLDS_REFUSED.labels(metrics.code(exc.code)).inc()
        raise
    metrics.on_commit(session, metrics.HOLDS_TAKEN.inc)
    metrics.on_commit(session, lambda: metrics.HOLD_SEATS_TAKEN.inc(quantity))
    return hold


async def _take(
    session: AsyncSession,
    who: Principal,
    ticket_type_id: uuid.UUID,
    quantity: int,
    *,
    ttl_seconds: int,
    now: datetime,
    limits: BuyerLimits,
) -> Hold:
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
        params = {f"p_{k}": v for k, v in values.items()}
        if limits.any:
            params.update(p_per_type=limits.per_ticket_type, p_per_event=limits.per_event)
        inserted = (await conn.execute(_TAKE_AND_INSERT_CAPPED if limits.any else _TAKE_AND_INSERT, params)).first()
        if inserted is not None:
            return Hold(**values, event_id=inserted.event_id, order_id=None, ended_at=None)
        await _refusal(conn, who, ticket_type_id, quantity, now, limits=limits)  # raises the rule that refused it
        taken = False
    else:
        row = await _refusal(conn, who, ticket_type_id, quantity, now, only_rules=True, limits=limits)
        values["event_id"] = row.event_id
        taken = (await conn.execute(_TAKE, {"tt_id": ticket_type_id, "q": quantity})).first() is not None
        if taken:
            await conn.execute(_INSERT, values)
    if not taken:
        available = max((await conn.execute(_AVAILABLE, {"tt_id": ticket_type_id})).scalar_one(), 0)
        raise SoldOut(f"only {available} left", available=available)
    return Hold(**values, order_id=None, ended_at=None)  # a detached copy of the insert


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
    await move_seats(session, per_type, held=-1)
    return [Hold(id=i, ticket_type_id=t, quantity=q) for i, t, q in ended]  # type: ignore[call-arg]


async def move_seats(session: AsyncSession, per_type: Mapping[uuid.UUID, int], *, held: int = 0, sold: int = 0) -> None:
    """Move ``per_type[tt]`` seats of each ticket type: ``held``/``sold`` are -1, 0 or +1 (e.g. a sale is held=-1,
    sold=+1; a refund or a void, sold=-1). Ticket types are updated in a fixed order, so two transactions moving
    seats of the same types cannot deadlock; the schema's CHECK keeps held + sold within capacity."""
    for tt_id in sorted(per_type):
        n = per_type[tt_id]
        await session.execute(
            update(TicketType)
            .where(col(TicketType.id) == tt_id)
            .values(held=col(TicketType.held) + held * n, sold=col(TicketType.sold) + sold * n)
        )


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
    """Expire unclaimed active holds past their time and return their seats. Returns how many expired."""
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
