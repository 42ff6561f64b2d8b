"""Taking seats: a hold is created by one conditional statement that can never oversell.

Seats are taken only by a single conditional ``UPDATE … WHERE held + sold + :q <= capacity`` (with the hold's
insert in the same statement on PostgreSQL), so concurrent buyers can never take the same seat; the per-buyer caps
(``inventory.buyer_limits``), the sales window and a voucher's uses (``vouchers.redemption``) are checked in the
same transaction. What happens to a hold afterwards (claimed, released, expired) is ``inventory.holds``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Uuid, bindparam, insert, null, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.auth import Principal
from boxoffice.catalogue.rules import sales_open_sql, sales_refusal
from boxoffice.errors import BoxofficeError, NotFound, SoldOut, ValidationFailed
from boxoffice.inventory import buyer_limits
from boxoffice.inventory.buyer_limits import BuyerLimits
from boxoffice.models import Event, Hold, TicketType
from boxoffice.models.states import HoldStatus
from boxoffice.models.types import UTCDateTime
from boxoffice.vouchers import redemption

_TT = TicketType.__table__  # type: ignore[attr-defined]
_H = Hold.__table__  # type: ignore[attr-defined]
_EV = Event.__table__  # type: ignore[attr-defined]


# Statements are built once: this is the hottest path of an on-sale night.
_LOOKUP = (
    select(
        _TT.c.organization_id,
        _TT.c.event_id,
        _TT.c.max_per_order,
        _TT.c.sales_start,
        _TT.c.sales_end,
        _EV.c.ends_at,
        _EV.c.cancelled_at,  # issue 13: a cancelled event sells nothing more
    )
    .join(_EV, _EV.c.id == _TT.c.event_id)
    .where(_TT.c.id == bindparam("tt_id"))
)


def _seats(quantity: Any, *, reserved: bool) -> tuple[list[Any], dict[str, Any]]:
    """Issue 13, the seats a hold takes: (conditions, new values). An ordinary hold leaves the seats reserved for
    voucher holders (``held + sold + reserved + q ≤ capacity``); a hold redeeming a voucher that reserves seats
    takes them out of that reservation (``reserved ≥ q``), so ``held + sold + reserved`` stays as it was."""
    if reserved:
        conditions = [_TT.c.reserved >= quantity, _TT.c.held + _TT.c.sold + quantity <= _TT.c.capacity]
        return conditions, {"held": _TT.c.held + quantity, "reserved": _TT.c.reserved - quantity}
    # Issue 13: an ordinary hold also leaves the seats kept for the waiting list (only its offers take them).
    free = _TT.c.capacity - _TT.c.held - _TT.c.sold - _TT.c.reserved - _TT.c.waitlist_reserved
    return [quantity <= free], {"held": _TT.c.held + quantity}


def _take_statement(reserved: bool) -> Any:
    """SQLite: take the seats (the rules were checked first, inside the same IMMEDIATE transaction)."""
    conditions, values = _seats(bindparam("q"), reserved=reserved)
    return update(_TT).where(_TT.c.id == bindparam("tt_id"), *conditions).values(**values).returning(_TT.c.id)


_TAKE, _TAKE_RESERVED = _take_statement(reserved=False), _take_statement(reserved=True)
_INSERT = insert(_H)
_AVAILABLE = select(_TT.c.capacity - _TT.c.held - _TT.c.sold - _TT.c.reserved - _TT.c.waitlist_reserved).where(
    _TT.c.id == bindparam("tt_id")
)


def _take_and_insert(capped: bool = False, reserved: bool = False) -> Any:
    """PostgreSQL: every rule of a hold (organisation, sales window, per-order limit, seats left) and the insert in
    one statement. The hot row's lock is held for the shortest time and a successful hold costs one round trip
    plus the commit; only a refused one pays for the lookup that says why. (Bind names differ from column names:
    SQLAlchemy would read a parameter named like a column as a value to SET.)"""

    def p(name: str, **kw: Any) -> Any:
        return bindparam(f"p_{name}", **kw)

    quantity, created_at = p("quantity"), p("created_at", type_=UTCDateTime())
    seats, values = _seats(quantity, reserved=reserved)
    taken = (
        update(_TT)
        .where(
            _TT.c.id == p("ticket_type_id"),
            _TT.c.organization_id == p("organization_id"),
            _EV.c.id == _TT.c.event_id,
            or_(_TT.c.max_per_order.is_(None), quantity <= _TT.c.max_per_order),
            sales_open_sql(_TT.c.sales_start, _TT.c.sales_end, _EV.c.ends_at, created_at, _EV.c.cancelled_at),
            *seats,
            *_buyer_cap(capped, p("organization_id"), p("user_id"), quantity, (p("per_type"), p("per_event"))),
        )
        .values(**values)
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
        p("voucher_id", type_=Uuid()),
    )
    columns = ["id", "organization_id", "event_id", "ticket_type_id", "user_id", "quantity", "status"]
    columns += ["expires_at", "order_id", "created_at", "ended_at", "voucher_id"]
    return insert(_H).from_select(columns, row).returning(_H.c.event_id)


def _buyer_cap(capped: bool, org: Any, user: Any, quantity: Any, limits: Any) -> list[Any]:
    """The per-buyer cap as one more condition of the hot statement (issue 10), only when a cap is set."""
    return [buyer_limits.may_hold_sql(org, user, _TT.c.event_id, _TT.c.id, quantity, limits)] if capped else []


# (capped, from a voucher's reservation) → the statement.
_TAKE_AND_INSERT = {(c, r): _take_and_insert(capped=c, reserved=r) for c in (False, True) for r in (False, True)}


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
    if (closed := sales_refusal(row.sales_start, row.sales_end, row.ends_at, now, row.cancelled_at)) is not None:
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
    voucher: str | None = None,
) -> Hold:
    """Take ``quantity`` seats of a ticket type for ``ttl_seconds``, or raise ``SoldOut`` (or ``HoldLimitReached``
    when the buyer would hold more than ``limits`` allow) changing nothing. Counted (issue 11): a hold once the
    caller commits it, a refusal at once by its code. With a ``voucher`` code (issue 13), the hold also takes one
    of its uses per seat, in the same transaction, or raises why it cannot (``voucher_exhausted``, …); the caller
    must roll back on any error (nothing is committed here)."""
    try:
        hold = await _take(
            session, who, ticket_type_id, quantity, ttl_seconds=ttl_seconds, now=now, limits=limits, voucher=voucher
        )
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
    voucher: str | None,
) -> Hold:
    if quantity < 1:
        raise ValidationFailed("quantity must be at least 1", code="invalid_quantity")
    conn = await session.connection()
    redeemed = None if voucher is None else await _redeem(conn, who, ticket_type_id, quantity, voucher, now, limits)
    reserved = redeemed is not None and redeemed.reserving
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": who.org_id,
        "ticket_type_id": ticket_type_id,
        "user_id": who.user_id,
        "quantity": quantity,
        "status": HoldStatus.ACTIVE.value,
        "expires_at": now + timedelta(seconds=ttl_seconds),
        "created_at": now,
        "voucher_id": None if redeemed is None else redeemed.voucher_id,
    }
    if conn.dialect.name == "postgresql":
        params = {f"p_{k}": v for k, v in values.items()}
        if limits.any:
            params.update(p_per_type=limits.per_ticket_type, p_per_event=limits.per_event)
        inserted = (await conn.execute(_TAKE_AND_INSERT[limits.any, reserved], params)).first()
        if inserted is not None:
            return Hold(**values, event_id=inserted.event_id, order_id=None, ended_at=None)
        await _refusal(conn, who, ticket_type_id, quantity, now, limits=limits)  # raises the rule that refused it
        taken = False
    else:
        row = await _refusal(conn, who, ticket_type_id, quantity, now, only_rules=True, limits=limits)
        values["event_id"] = row.event_id
        take = _TAKE_RESERVED if reserved else _TAKE
        taken = (await conn.execute(take, {"tt_id": ticket_type_id, "q": quantity})).first() is not None
        if taken:
            await conn.execute(_INSERT, values)
    if not taken:
        available = max((await conn.execute(_AVAILABLE, {"tt_id": ticket_type_id})).scalar_one(), 0)
        raise SoldOut(f"only {available} left", available=available)
    return Hold(**values, order_id=None, ended_at=None)  # a detached copy of the insert


async def _redeem(
    conn: Any, who: Principal, ticket_type_id: uuid.UUID, quantity: int, code: str, now: datetime, limits: BuyerLimits
) -> redemption.Redeemed:
    """Issue 13: take the voucher's uses before the seats (the voucher's row lock makes concurrent redemptions of
    one code take turns), or raise why not: the ticket type's own rules first, then the voucher's."""
    found = await redemption.redeem(
        conn, org=who.org_id, ticket_type_id=ticket_type_id, code=code, quantity=quantity, now=now
    )
    if found is None:
        await _refusal(conn, who, ticket_type_id, quantity, now, only_rules=True, limits=limits)
        raise await redemption.refusal(
            conn, org=who.org_id, ticket_type_id=ticket_type_id, code=code, quantity=quantity, now=now
        )
    return found
