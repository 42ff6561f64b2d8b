"""Events and ticket types: creation, validation, and the sales window (one rule, in Python and in SQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.access import ensure_organization
from boxoffice.errors import Conflict, NotFound, ValidationFailed
from boxoffice.models import Event, TicketType
from boxoffice.money import currency_code, format_money, max_minor
from boxoffice.ticketing.tokens import VALIDITY_AFTER_EVENT


class PricingModel(StrEnum):
    FIXED = "fixed"
    PAY_WHAT_YOU_WANT = "pay_what_you_want"
    FREE = "free"


def sales_refusal(
    sales_start: datetime | None,
    sales_end: datetime | None,
    event_ends_at: datetime,
    now: datetime,
    event_cancelled_at: datetime | None = None,
) -> Conflict | None:
    """Why a ticket type is not on sale at ``now`` (``event_cancelled``, ``sales_not_started``, ``sales_ended``),
    or None when it is.

    The sales window is ``[sales_start, sales_end)``, never past the end of the event, and closed for good once the
    event is cancelled (issue 13). ``sales_open_sql`` is the same rule as a SQL condition, for the statement that
    takes seats atomically.
    """
    if event_cancelled_at is not None:
        return Conflict("the event is cancelled", code="event_cancelled")
    if sales_start is not None and now < sales_start:
        return Conflict("sales have not started", code="sales_not_started", sales_start=sales_start.isoformat())
    if (sales_end is not None and now >= sales_end) or now >= event_ends_at:
        return Conflict("sales have ended", code="sales_ended")
    return None


def sales_open_sql(
    sales_start: Any, sales_end: Any, event_ends_at: Any, now: Any, event_cancelled_at: Any = None
) -> ColumnElement[bool]:
    """``sales_refusal(...) is None`` as a SQL condition over the given columns and the bound ``now``."""
    return and_(
        or_(sales_start.is_(None), sales_start <= now),
        or_(sales_end.is_(None), now < sales_end),
        now < event_ends_at,
        *([] if event_cancelled_at is None else [event_cancelled_at.is_(None)]),
    )


def check_currency(code: str) -> str:
    """The upper-case ISO 4217 code, if it is a currency with a minor unit (ISO's own list, via ``money``); a code
    that is not one (``XYZ``), or has no minor unit (``XAU``, ``XXX``), is refused with ``invalid_currency``."""
    try:
        return currency_code(code)
    except ValueError as exc:
        raise ValidationFailed(f"{code.upper()!r}: {exc}", code="invalid_currency") from None


# The most a price (or fixed fee) may be, in whole units of the event's currency: the same bound for ¥, R and KWD,
# however many decimals their minor unit has (issue 12). The API's schema bounds minor units as well.
MAX_PRICE_UNITS = 1_000_000


def check_price_limit(amounts: list[int | None], currency: str) -> None:
    """Refuse (``price_too_high``) an amount above ``MAX_PRICE_UNITS`` whole units of ``currency``."""
    limit = max_minor(currency, MAX_PRICE_UNITS)
    if any(a is not None and a > limit for a in amounts):
        shown = format_money(limit, currency)
        raise ValidationFailed(f"a price cannot exceed {shown}", code="price_too_high", max_minor_units=limit)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{name!r} is not an IANA time zone", code="invalid_timezone") from None
    return name


@dataclass
class EventInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    venue: str | None = None
    timezone: str = "UTC"
    service_fee_bps: int = 0
    service_fee_fixed_cents: int = 0
    checkin_policy: str = "single_entry"  # the gate (issue 9)
    refund_policy: dict[str, Any] | None = None  # issue 13: ``RefundPolicy`` members; None: no self-service


def apply_refund_policy(event: Event, policy: dict[str, Any] | None) -> None:
    """Set the event's refund policy (issue 13) from a ``RefundPolicy`` body's members (None removes it: buyers can
    no longer cancel paid orders). Neither deadline given means "until the event starts"."""
    if policy is None:
        event.refund_cancel_until = event.refund_cancel_hours_before_start = None
        event.refund_fee_fixed_cents = event.refund_fee_bps = 0
        return
    fixed, bps = policy.get("fee_fixed_cents") or 0, policy.get("fee_bps") or 0
    if fixed < 0 or not 0 <= bps <= 10_000:
        raise ValidationFailed("the fee kept must be 0–10000 bps and a non-negative fixed part", code="invalid_fee")
    check_price_limit([fixed], event.currency)
    until, hours = policy.get("cancel_until"), policy.get("cancel_hours_before_start")
    event.refund_cancel_until = until
    event.refund_cancel_hours_before_start = None if until is not None else (hours or 0)
    event.refund_fee_fixed_cents, event.refund_fee_bps = fixed, bps


async def create_event(session: AsyncSession, org_id: str, data: EventInput) -> Event:
    if data.ends_at <= data.starts_at:
        raise ValidationFailed("ends_at must be after starts_at", code="event_ends_before_start")
    if not 0 <= data.service_fee_bps <= 10_000 or data.service_fee_fixed_cents < 0:
        raise ValidationFailed("service fee must be 0–10000 bps and a non-negative fixed part", code="invalid_fee")
    check_price_limit([data.service_fee_fixed_cents], check_currency(data.currency))
    await ensure_organization(session, org_id)
    event = Event(
        organization_id=org_id,
        name=data.name,
        venue=data.venue,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        timezone=check_timezone(data.timezone),
        currency=check_currency(data.currency),
        service_fee_bps=data.service_fee_bps,
        service_fee_fixed_cents=data.service_fee_fixed_cents,
        checkin_policy=data.checkin_policy,
    )
    apply_refund_policy(event, data.refund_policy)
    session.add(event)
    await session.flush()
    return event


# What buyers are told about (the tickets' PDFs show them; the times also move the tickets' validity, the event's end
# plus ``VALIDITY_AFTER_EVENT``, which a payload carries as u32 epoch seconds: see ``ticketing.tokens``).
FOLLOW_TO_TICKETS = ("name", "venue", "starts_at", "ends_at", "timezone")


async def update_event(
    session: AsyncSession, org_id: str, event_id: uuid.UUID, changes: dict[str, Any], *, now: datetime
) -> Event:
    """Apply ``changes`` to the organisation's event under a row lock, or refuse them all (nothing changes):
    ``event_cancelled`` (nothing of a cancelled event changes), ``event_ended`` (what buyers were sold cannot
    change once it is over), ``event_ends_before_start``, ``event_end_in_past``, ``event_too_far`` (tickets could
    not carry the validity), ``sales_window_after_event`` (a ticket type's sales would close after the new end),
    ``invalid_timezone``, ``invalid_fee``. A change of what ``FOLLOW_TO_TICKETS`` names counts the event's
    ``revision`` up: the caller then re-issues its tickets."""
    event = await get_event(session, org_id, event_id)
    event = (await session.execute(select(Event).where(col(Event.id) == event.id).with_for_update())).scalar_one()
    if event.cancelled_at is not None:
        raise Conflict("the event is cancelled: nothing of it changes any more", code="event_cancelled")
    new_policy, policy = "refund_policy" in changes, changes.pop("refund_policy", None)
    follows = {f: changes[f] for f in FOLLOW_TO_TICKETS if f in changes and changes[f] != getattr(event, f)}
    if follows and now >= event.ends_at:
        raise Conflict("the event has ended: what its buyers were sold cannot change", code="event_ended")
    starts, ends = follows.get("starts_at", event.starts_at), follows.get("ends_at", event.ends_at)
    if ends <= starts:
        raise ValidationFailed("ends_at must be after starts_at", code="event_ends_before_start")
    if "ends_at" in follows:
        if ends <= now:
            raise ValidationFailed("the event cannot end in the past", code="event_end_in_past")
        if ends.timestamp() + VALIDITY_AFTER_EVENT.total_seconds() >= 2**32:
            raise ValidationFailed("tickets cannot be valid beyond 2106", code="event_too_far")
        types = (await session.execute(select(TicketType).where(col(TicketType.event_id) == event.id))).scalars()
        if late := [t.name for t in types if sales_close_after(t.sales_start, t.sales_end, ends)]:
            raise ValidationFailed(
                f"the sales of {', '.join(late)} would close after the new end", code="sales_window_after_event"
            )
    if "timezone" in follows:
        check_timezone(str(follows["timezone"]))
    for field, value in changes.items():
        setattr(event, field, value)
    if new_policy:
        apply_refund_policy(event, policy)
    if follows:
        event.revision += 1
    await session.flush()
    return event


async def list_events(session: AsyncSession, org_id: str) -> list[Event]:
    rows = await session.execute(
        select(Event).where(col(Event.organization_id) == org_id).order_by(col(Event.starts_at))
    )
    return list(rows.scalars())


async def get_event(session: AsyncSession, org_id: str, event_id: uuid.UUID) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.organization_id != org_id:
        raise NotFound("event not found", code="event_not_found")
    return event


@dataclass
class TicketTypeInput:
    name: str
    capacity: int
    pricing_model: PricingModel
    base_price_cents: int = 0
    minimum_price_cents: int | None = None
    suggested_price_cents: int | None = None
    max_per_order: int | None = None
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    checkin_policy: str | None = None  # the gate (issue 9): None follows the event's


# What a PATCH may not set to null (the others, such as max_per_order or a sales bound, are cleared by null).
NOT_NULL = ("name", "capacity", "pricing_model", "base_price_cents")


def validate_ticket_type(tt: TicketTypeInput | TicketType, event: Event, *, sold: int = 0) -> None:
    """Every rule a ticket type must satisfy; raises ``ValidationFailed`` with a stable code."""
    prices = [tt.base_price_cents, tt.minimum_price_cents, tt.suggested_price_cents]
    if any(p is not None and p < 0 for p in prices):
        raise ValidationFailed("prices cannot be negative", code="negative_price")
    check_price_limit(prices, event.currency)
    if tt.capacity < 0:
        raise ValidationFailed("capacity cannot be negative", code="invalid_capacity")
    if tt.capacity < sold:
        raise ValidationFailed(
            f"capacity {tt.capacity} is below the {sold} already sold", code="capacity_below_sold", sold=sold
        )
    if tt.max_per_order is not None and tt.max_per_order < 1:
        raise ValidationFailed("max_per_order must be at least 1", code="invalid_max_per_order")
    model = PricingModel(tt.pricing_model)
    if model is PricingModel.FREE and tt.base_price_cents != 0:
        raise ValidationFailed("a free ticket type has base_price_cents 0", code="free_with_price")
    if model is PricingModel.FIXED and tt.base_price_cents <= 0:
        raise ValidationFailed("a fixed-price ticket type needs a positive price", code="price_required")
    if model is PricingModel.PAY_WHAT_YOU_WANT:
        minimum = tt.minimum_price_cents or 0
        if tt.suggested_price_cents is not None and minimum > tt.suggested_price_cents:
            raise ValidationFailed("minimum_price_cents is above suggested_price_cents", code="minimum_above_suggested")
    elif tt.minimum_price_cents is not None or tt.suggested_price_cents is not None:
        raise ValidationFailed(
            "minimum and suggested prices apply to pay_what_you_want only", code="pwyw_fields_on_fixed"
        )
    if tt.sales_start and tt.sales_end and tt.sales_end <= tt.sales_start:
        raise ValidationFailed("sales_end must be after sales_start", code="sales_window_inverted")
    if sales_close_after(tt.sales_start, tt.sales_end, event.ends_at):
        raise ValidationFailed("the sales window must close by the end of the event", code="sales_window_after_event")


def sales_close_after(sales_start: datetime | None, sales_end: datetime | None, event_ends_at: datetime) -> bool:
    """Whether a sales window would open at or close after the end of the event (refused)."""
    return bool((sales_start and sales_start >= event_ends_at) or (sales_end and sales_end > event_ends_at))


async def create_ticket_type(
    session: AsyncSession, org_id: str, event_id: uuid.UUID, data: TicketTypeInput
) -> TicketType:
    event = await get_event(session, org_id, event_id)
    validate_ticket_type(data, event)
    tt = TicketType(event_id=event.id, organization_id=org_id, **data.__dict__)
    tt.pricing_model = PricingModel(data.pricing_model).value
    session.add(tt)
    await session.flush()
    return tt


async def get_ticket_type(session: AsyncSession, org_id: str, ticket_type_id: uuid.UUID) -> TicketType:
    tt = await session.get(TicketType, ticket_type_id)
    if tt is None or tt.organization_id != org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    return tt


async def update_ticket_type(
    session: AsyncSession, org_id: str, ticket_type_id: uuid.UUID, changes: dict[str, object]
) -> TicketType:
    """Apply ``changes`` under a row lock so capacity can never drop below what is held and sold."""
    stmt = select(TicketType).where(col(TicketType.id) == ticket_type_id).with_for_update()
    tt = (await session.execute(stmt)).scalar_one_or_none()
    if tt is None or tt.organization_id != org_id:
        raise NotFound("ticket type not found", code="ticket_type_not_found")
    event = await get_event(session, org_id, tt.event_id)
    if nulls := sorted(f for f in NOT_NULL if f in changes and changes[f] is None):
        raise ValidationFailed(f"{', '.join(nulls)} cannot be null", code="validation_error", fields=",".join(nulls))
    current = {f: getattr(tt, f) for f in TicketTypeInput.__dataclass_fields__}
    candidate = TicketTypeInput(**{**current, **changes})
    validate_ticket_type(candidate, event, sold=tt.sold)
    if candidate.capacity < tt.sold + tt.held:
        raise ValidationFailed(
            f"capacity {candidate.capacity} is below the {tt.sold} sold and {tt.held} held",
            code="capacity_below_sold",
        )
    for field, value in candidate.__dict__.items():
        setattr(tt, field, value.value if isinstance(value, StrEnum) else value)
    await session.flush()
    return tt


async def list_ticket_types(session: AsyncSession, org_id: str, event_id: uuid.UUID) -> list[TicketType]:
    await get_event(session, org_id, event_id)
    rows = await session.execute(
        select(TicketType).where(col(TicketType.event_id) == event_id).order_by(col(TicketType.created_at))
    )
    return list(rows.scalars())
