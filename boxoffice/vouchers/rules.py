"""An organiser's vouchers: created one at a time or in batches of unique random codes, listed, read, changed where
that is safe, and deactivated.

Guarantees (in the caller's transaction; a refused request changes nothing):
- a voucher belongs to one event of the admin's organisation, and optionally to one of its ticket types; anything
  of another organisation is 404;
- codes are unique per event, upper case; random ones come from ``secrets`` over the ticket codes' alphabet
  (no look-alike characters), 12 characters (about 2^59) after the prefix, and a batch is all-or-nothing;
- the discount, its ticket type and its code never change once made (held seats were priced with them); the uses,
  validity, reservation, tag, comment and whether it is active may, and ``max_uses`` never below ``uses``;
- a voucher reserving seats holds ``max_uses − uses`` of them while active and valid, taken only if free
  (``voucher_seats_unavailable`` otherwise), and gives them back when deactivated, shrunk or expired.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal
from boxoffice.catalogue.rules import check_price_limit, get_event
from boxoffice.errors import Conflict, NotFound, ValidationFailed
from boxoffice.models import Event, TicketType
from boxoffice.models.vouchers import Voucher
from boxoffice.ticketing.codes import ALPHABET
from boxoffice.vouchers import redemption
from boxoffice.vouchers.contract import VoucherCodes as C
from boxoffice.vouchers.contract import VoucherKind
from boxoffice.vouchers.schemas import VoucherTermsIn

RANDOM_LENGTH = 12
INSERT_CHUNK = 200  # rows per INSERT: within SQLite's limit on bound parameters
MAX_ROUNDS = 5  # a batch whose random codes keep colliding is refused rather than retried forever


class VoucherCodeTaken(Conflict):
    code, title = C.CODE_TAKEN, "Voucher code taken"


def random_code(prefix: str = "") -> str:
    """``prefix`` (upper case) and 12 characters drawn by ``secrets`` from a 31-character alphabet."""
    return prefix.upper() + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))


def discount(terms: VoucherTermsIn) -> tuple[VoucherKind, int]:
    """The voucher's kind and stored value (basis points for a percentage, else minor units), or
    ``invalid_discount`` when the kind's own amount is missing or another kind's is given."""
    kind = VoucherKind(terms.kind)
    given = {
        VoucherKind.PERCENTAGE: terms.percent_off,
        VoucherKind.AMOUNT_OFF: terms.amount_off_cents,
        VoucherKind.FIXED_PRICE: terms.price_cents,
    }
    wrong = [k.value for k, v in given.items() if v is not None and k is not kind]
    if wrong or (kind is not VoucherKind.FREE and given[kind] is None):
        member = {"percentage": "percent_off", "amount_off": "amount_off_cents", "fixed_price": "price_cents"}
        needs = f"{kind.value} needs {member[kind.value]}" if kind is not VoucherKind.FREE else "free needs no amount"
        raise ValidationFailed(f"{needs}, and no other kind's amount", code=C.INVALID_DISCOUNT, kind=kind.value)
    amount = given.get(kind) or 0
    return kind, amount * 100 if kind is VoucherKind.PERCENTAGE else amount


def check_window(valid_from: datetime | None, valid_until: datetime | None) -> None:
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise ValidationFailed("valid_until must come after valid_from", code=C.WINDOW_INVERTED)


def check_reservation(reserve_seats: bool, ticket_type_id: uuid.UUID | None) -> None:
    if reserve_seats and ticket_type_id is None:
        raise ValidationFailed(
            "seats are reserved in one ticket type: give ticket_type_id", code=C.RESERVATION_NEEDS_TICKET_TYPE
        )


async def _checked(session: AsyncSession, who: Principal, event_id: uuid.UUID, terms: VoucherTermsIn) -> dict[str, Any]:
    """The new vouchers' common columns, every rule of ``terms`` checked against the event."""
    event: Event = await get_event(session, who.org_id, event_id)
    kind, value = discount(terms)
    if kind in (VoucherKind.AMOUNT_OFF, VoucherKind.FIXED_PRICE):
        check_price_limit([value], event.currency)
    check_window(terms.valid_from, terms.valid_until)
    check_reservation(terms.reserve_seats, terms.ticket_type_id)
    if terms.ticket_type_id is not None:
        tt = await session.get(TicketType, terms.ticket_type_id)
        if tt is None or tt.event_id != event.id:
            raise NotFound("no such ticket type in this event", code="ticket_type_not_found")
    return {
        "organization_id": who.org_id,
        "event_id": event.id,
        "ticket_type_id": terms.ticket_type_id,
        "kind": kind.value,
        "value": value,
        "max_uses": terms.max_uses,
        "reserve_seats": terms.reserve_seats,
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "tag": terms.tag,
        "comment": terms.comment,
        "created_by": who.user_id,
    }


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the vouchers whose codes are free in their event; returns the codes inserted."""
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(Voucher)
    done: set[str] = set()
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = ins.values(rows[start : start + INSERT_CHUNK]).on_conflict_do_nothing(
            index_elements=["event_id", "code"]
        )
        done |= set((await session.execute(stmt.returning(col(Voucher.code)))).scalars())
    return done


async def create_vouchers(
    session: AsyncSession,
    who: Principal,
    event_id: uuid.UUID,
    terms: VoucherTermsIn,
    *,
    codes: list[str] | None = None,
    count: int = 1,
    prefix: str = "",
    now: datetime,
) -> list[Voucher]:
    """Create the given ``codes`` (taken ones refused: ``voucher_code_taken``), or ``count`` random ones after
    ``prefix`` (all unique in the event), with the seats they reserve. All or nothing; ordered by code."""
    common = await _checked(session, who, event_id, terms)
    reserving = redemption.should_reserve(Voucher(**common, code=""), now)
    wanted = [redemption.normalise(c) for c in codes] if codes else None
    if reserving:  # every voucher keeps max_uses seats: taken at once, or none is made
        assert terms.ticket_type_id is not None
        await redemption.reserve(session, terms.ticket_type_id, terms.max_uses * (len(wanted) if wanted else count))
    common |= {"reserving": reserving, "reserved": terms.max_uses if reserving else 0}
    common |= {"uses": 0, "active": True, "created_at": now, "updated_at": now}
    made: set[str] = set()
    for _round in range(MAX_ROUNDS):
        batch = wanted or sorted({random_code(prefix) for _ in range(count - len(made))} - made)
        made |= await _insert(session, [{**common, "id": uuid.uuid4(), "code": c} for c in batch])
        if wanted and len(made) < len(wanted):
            taken = sorted(set(wanted) - made)
            raise VoucherCodeTaken(f"the event has a voucher {taken[0]} already", code_taken=taken[0])
        if len(made) >= (len(wanted) if wanted else count):
            break
    else:
        raise Conflict("could not find unused codes; try a longer prefix", code=C.CODE_TAKEN)
    rows = await session.execute(
        select(Voucher)
        .where(col(Voucher.event_id) == event_id, col(Voucher.code).in_(made))
        .order_by(col(Voucher.code))
    )
    return list(rows.scalars())


async def get_voucher(session: AsyncSession, who: Principal, voucher_id: uuid.UUID, *, lock: bool = False) -> Voucher:
    """The organisation's voucher (``lock``: its row locked, read afresh), else 404 ``voucher_not_found``."""
    voucher = await redemption.locked(session, voucher_id) if lock else await session.get(Voucher, voucher_id)
    if voucher is None or voucher.organization_id != who.org_id:
        raise redemption.VoucherNotFound("voucher not found")
    return voucher


async def list_vouchers(
    session: AsyncSession,
    who: Principal,
    event_id: uuid.UUID,
    *,
    tag: str | None,
    code: str | None,
    limit: int,
    offset: int,
) -> list[Voucher]:
    """The event's vouchers by code; ``tag``: only that tag; ``code``: only codes starting so (any case)."""
    await get_event(session, who.org_id, event_id)
    stmt = select(Voucher).where(col(Voucher.event_id) == event_id)
    if tag is not None:
        stmt = stmt.where(col(Voucher.tag) == tag)
    if code:
        stmt = stmt.where(col(Voucher.code).startswith(redemption.normalise(code), autoescape=True))
    rows = await session.execute(stmt.order_by(col(Voucher.code)).limit(limit).offset(offset))
    return list(rows.scalars())


async def update_voucher(
    session: AsyncSession, who: Principal, voucher_id: uuid.UUID, changes: Mapping[str, Any], *, now: datetime
) -> Voucher:
    """Apply ``changes`` (what ``VoucherPatch`` allows) under the voucher's row lock, and make its reservation fit."""
    voucher = await get_voucher(session, who, voucher_id, lock=True)
    if changes.get("max_uses", voucher.max_uses) < voucher.uses:
        raise Conflict(
            f"the voucher was redeemed {voucher.uses} times already",
            code=C.MAX_USES_BELOW_USES,
            uses=voucher.uses,
        )
    check_window(changes.get("valid_from", voucher.valid_from), changes.get("valid_until", voucher.valid_until))
    check_reservation(changes.get("reserve_seats", voucher.reserve_seats), voucher.ticket_type_id)
    for name, value in changes.items():
        setattr(voucher, name, value)
    await redemption.sync_reservation(session, voucher, now)
    voucher.updated_at = now
    await session.flush()
    return voucher
