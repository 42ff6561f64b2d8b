"""Redeeming a voucher and giving its uses back, and the seats a voucher reserves for its holders.

Guarantees:
- a use is taken by one conditional ``UPDATE vouchers … WHERE uses + :q <= max_uses`` in the hold's own
  transaction (the voucher's row lock makes concurrent redemptions of one code take turns, and each re-checks the
  row as the previous one left it), so a voucher with N uses is never redeemed N+1 times; a CHECK backs it;
- a use comes back in the transaction that gives the seat back: a hold released or expired, a pending order
  cancelled (``inventory.holds.end_holds``), a ticket refunded (``refunds.settlement``);
- a voucher that reserves seats keeps ``reserved = max_uses − uses`` of its ticket type's capacity, counted in
  ``ticket_types.reserved``: a redemption moves its seats from reserved to held, a use given back moves them
  back, and deactivation or the end of its validity (``release_lapsed``) puts them back on sale;
- locks are always taken voucher rows first (by id), then ticket type rows (by id), so no two of these
  transactions can deadlock.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, and_, bindparam, case, or_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.errors import BoxofficeError, Conflict, NotFound, ValidationFailed
from boxoffice.models import OrderLine, TicketType
from boxoffice.models.types import UTCDateTime
from boxoffice.models.vouchers import Voucher
from boxoffice.vouchers.contract import VoucherCodes as C
from boxoffice.vouchers.contract import VoucherTerms

_V = Voucher.__table__  # type: ignore[attr-defined]
_TT = TicketType.__table__  # type: ignore[attr-defined]


class VoucherNotFound(NotFound):
    code, title = C.NOT_FOUND, "Voucher not found"


class VoucherInactive(Conflict):
    code, title = C.INACTIVE, "Voucher not active"


class VoucherNotYetValid(Conflict):
    code, title = C.NOT_YET_VALID, "Voucher not valid yet"


class VoucherExpired(Conflict):
    code, title = C.EXPIRED, "Voucher expired"


class VoucherExhausted(Conflict):
    code, title = C.EXHAUSTED, "Voucher used up"


class VoucherWrongTicketType(ValidationFailed):
    code, title = C.WRONG_TICKET_TYPE, "Voucher not valid for this ticket type"


class SeatsUnavailable(Conflict):
    code, title = C.SEATS_UNAVAILABLE, "Not enough seats to reserve"


def normalise(code: str) -> str:
    """A code as stored: buyers may type it in any case, with surrounding spaces."""
    return code.strip().upper()


@dataclass(frozen=True)
class Redeemed:
    """A redemption: the voucher, and whether its seats come out of its reservation (else out of general sale)."""

    voucher_id: uuid.UUID
    reserving: bool


def _p(name: str, **kw: Any) -> Any:
    # Bind names differ from column names: SQLAlchemy would read a parameter named like a column as a value to SET.
    return bindparam(f"p_{name}", **kw)


_NOW = _p("now", type_=UTCDateTime())
_EVENT_OF_TYPE = (
    select(_TT.c.event_id)
    .where(_TT.c.id == _p("tt", type_=Uuid()), _TT.c.organization_id == _p("org"))
    .scalar_subquery()
)
_MATCH = and_(_V.c.event_id == _EVENT_OF_TYPE, _V.c.organization_id == _p("org"), _V.c.code == _p("code"))
_REDEEM = (
    update(_V)
    .where(
        _MATCH,
        _V.c.active.is_(True),
        or_(_V.c.ticket_type_id.is_(None), _V.c.ticket_type_id == _p("tt", type_=Uuid())),
        or_(_V.c.valid_from.is_(None), _V.c.valid_from <= _NOW),
        or_(_V.c.valid_until.is_(None), _V.c.valid_until > _NOW),
        _V.c.uses + _p("q") <= _V.c.max_uses,
    )
    .values(uses=_V.c.uses + _p("q"), reserved=case((_V.c.reserving.is_(True), _V.c.reserved - _p("q")), else_=0))
    .returning(_V.c.id, _V.c.reserving)
)
_FIND = select(_V).where(_MATCH)


def _params(org: str, ticket_type_id: uuid.UUID, code: str, quantity: int, now: datetime) -> dict[str, Any]:
    return {"p_org": org, "p_tt": ticket_type_id, "p_code": normalise(code), "p_q": quantity, "p_now": now}


async def redeem(
    conn: Any, *, org: str, ticket_type_id: uuid.UUID, code: str, quantity: int, now: datetime
) -> Redeemed | None:
    """Take ``quantity`` uses of the event's voucher ``code`` for a hold of ``ticket_type_id``, or return None and
    change nothing when it cannot be redeemed (``refusal`` then says why). The caller's transaction keeps the
    voucher's row locked until it ends: it must take the seats next and roll back if it cannot."""
    row = (await conn.execute(_REDEEM, _params(org, ticket_type_id, code, quantity, now))).first()
    return None if row is None else Redeemed(row.id, bool(row.reserving))


async def refusal(
    conn: Any, *, org: str, ticket_type_id: uuid.UUID, code: str, quantity: int, now: datetime
) -> BoxofficeError:
    """Why ``redeem`` refused: the first rule the voucher breaks, as the error to raise."""
    v = (await conn.execute(_FIND, _params(org, ticket_type_id, code, quantity, now))).first()
    if v is None:
        return VoucherNotFound("no voucher with this code for this event")
    if not v.active:
        return VoucherInactive("this voucher was deactivated")
    if v.ticket_type_id is not None and v.ticket_type_id != ticket_type_id:
        return VoucherWrongTicketType(
            "this voucher is for another ticket type", voucher_ticket_type_id=str(v.ticket_type_id)
        )
    if v.valid_from is not None and now < v.valid_from:
        return VoucherNotYetValid("this voucher is not valid yet", valid_from=v.valid_from.isoformat())
    if v.valid_until is not None and now >= v.valid_until:
        return VoucherExpired("this voucher has expired", valid_until=v.valid_until.isoformat())
    left = max(v.max_uses - v.uses, 0)
    return VoucherExhausted(f"this voucher has {left} use(s) left, {quantity} asked for", uses_left=left)


async def give_back(session: AsyncSession, uses: Mapping[uuid.UUID, int]) -> Counter[uuid.UUID]:
    """Give back ``uses[voucher_id]`` uses of each voucher (in the caller's transaction, before the seats move).
    Returns, per ticket type, the seats that go back into a reservation rather than on sale (``move_seats``'s
    ``reserved``). Never takes a voucher below zero uses (a repeat finds nothing more to give back)."""
    to_reserve: Counter[uuid.UUID] = Counter()
    wanted = {v: n for v, n in uses.items() if n > 0}
    if not wanted:
        return to_reserve
    rows = await session.execute(
        select(_V.c.id, _V.c.uses, _V.c.reserving, _V.c.ticket_type_id)
        .where(_V.c.id.in_(sorted(wanted)))
        .order_by(_V.c.id)
        .with_for_update()
    )
    for vid, used, reserving, tt_id in rows.all():
        n = min(wanted[vid], used)
        back = n if reserving else 0
        await session.execute(
            update(_V).where(_V.c.id == vid).values(uses=_V.c.uses - n, reserved=_V.c.reserved + back)
        )
        if back:
            to_reserve[tt_id] += back
    return to_reserve


async def line_uses(session: AsyncSession, line_seats: Mapping[uuid.UUID, int]) -> Counter[uuid.UUID]:
    """Uses per voucher of ``line_seats`` (order line id → seats given back): what ``give_back`` takes."""
    uses: Counter[uuid.UUID] = Counter()
    if not line_seats:
        return uses
    rows = await session.execute(
        select(col(OrderLine.id), col(OrderLine.voucher_id)).where(
            col(OrderLine.id).in_(list(line_seats)), col(OrderLine.voucher_id).is_not(None)
        )
    )
    for line_id, voucher_id in rows.all():
        uses[voucher_id] += line_seats[line_id]
    return uses


async def terms(session: AsyncSession, voucher_ids: set[uuid.UUID]) -> dict[uuid.UUID, VoucherTerms]:
    """What pricing needs of each voucher (its discount never changes once made, so a hold is priced as it was
    when it redeemed the voucher)."""
    if not voucher_ids:
        return {}
    rows = await session.execute(select(_V.c.id, _V.c.code, _V.c.kind, _V.c.value).where(_V.c.id.in_(voucher_ids)))
    return {vid: VoucherTerms(code=code, kind=kind, value=value) for vid, code, kind, value in rows.all()}


async def code_of(session: AsyncSession, voucher_id: uuid.UUID) -> str | None:
    """The voucher's code (None if it does not exist)."""
    return (await session.execute(select(_V.c.code).where(_V.c.id == voucher_id))).scalar_one_or_none()


def should_reserve(voucher: Voucher, now: datetime) -> bool:
    """Whether the voucher's reservation stands at ``now``: asked for, active, and its validity not over."""
    lapsed = voucher.valid_until is not None and now >= voucher.valid_until
    return voucher.reserve_seats and voucher.active and not lapsed and voucher.ticket_type_id is not None


async def reserve(session: AsyncSession, ticket_type_id: uuid.UUID, seats: int) -> None:
    """Move ``seats`` of the ticket type into (or, negative, out of) reservation; taking needs that many seats
    free of holds, sales and other reservations (``SeatsUnavailable`` otherwise, changing nothing)."""
    if seats == 0:
        return
    stmt = update(_TT).where(_TT.c.id == ticket_type_id).values(reserved=_TT.c.reserved + seats)
    if seats > 0:
        stmt = stmt.where(_TT.c.held + _TT.c.sold + _TT.c.reserved + seats <= _TT.c.capacity)
    if (await session.execute(stmt.returning(_TT.c.id))).first() is None:
        tt = (await session.execute(select(_TT).where(_TT.c.id == ticket_type_id))).first()
        free = 0 if tt is None else max(tt.capacity - tt.held - tt.sold - tt.reserved, 0)
        raise SeatsUnavailable(f"{seats} seats to reserve, {free} free", seats_free=free)


async def sync_reservation(session: AsyncSession, voucher: Voucher, now: datetime) -> None:
    """Make the voucher's reservation what ``should_reserve`` says now: ``max_uses − uses`` seats, or none.
    The caller holds the voucher's row lock (``locked``) and flushes; raises ``SeatsUnavailable`` when more seats
    are needed than are free."""
    reserving = should_reserve(voucher, now)
    target = max(voucher.max_uses - voucher.uses, 0) if reserving else 0
    if voucher.ticket_type_id is not None:
        with session.no_autoflush:  # the voucher's new terms and its reservation are flushed together, after this
            await reserve(session, voucher.ticket_type_id, target - voucher.reserved)
    voucher.reserving, voucher.reserved = reserving, target


async def locked(session: AsyncSession, voucher_id: uuid.UUID) -> Voucher | None:
    """The voucher, its row locked until the transaction ends (read afresh, not from the session's cache)."""
    stmt = select(Voucher).where(col(Voucher.id) == voucher_id).with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def release_lapsed(session: AsyncSession, *, now: datetime, limit: int = 500) -> int:
    """End the reservations of vouchers whose validity is over, putting their seats back on sale; returns how many
    vouchers. Run by the hold-expiry sweep; vouchers locked by a redemption are left to the next sweep."""
    due = (
        await session.execute(
            select(Voucher)
            .where(col(Voucher.reserving).is_(True), col(Voucher.valid_until) <= now)
            .order_by(col(Voucher.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    freed: Counter[uuid.UUID] = Counter()
    count = 0
    for voucher in due:
        if voucher.ticket_type_id is not None:
            freed[voucher.ticket_type_id] += voucher.reserved
        voucher.reserving, voucher.reserved = False, 0
        count += 1
    for tt_id in sorted(freed):  # ticket types in id order, as every other path takes them
        await reserve(session, tt_id, -freed[tt_id])
    if count:
        await session.flush()
    return count
