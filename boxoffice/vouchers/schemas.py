"""Request and response bodies of vouchers (issue 13)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, BaseModel, Field

from boxoffice.api.schemas import MAX_PRICE_CENTS, AwareDatetime, Body, Text
from boxoffice.models.vouchers import Voucher
from boxoffice.vouchers.contract import VoucherKind

# A code as buyers type it (any case; stored and matched upper case).
VoucherCode = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_USES = 1_000_000
MAX_BULK = 1000
KIND = (
    "percentage: percent_off of each ticket (the price rounded half up); amount_off: amount_off_cents off each ticket "
    "(never below 0); fixed_price: each ticket costs price_cents (never more than without the voucher); free: each "
    "ticket costs nothing. The member of the kind is required, the others must be left out."
)
RESERVE = (
    "keep max_uses − uses seats of the ticket type (ticket_type_id required) for the voucher's holders while it is "
    "active and valid: ordinary buyers cannot take them"
)


class VoucherTermsIn(Body):
    """What a voucher does, for whom, when and how often."""

    kind: Literal["percentage", "amount_off", "fixed_price", "free"] = Field(description=KIND)
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off_cents: int | None = Field(default=None, ge=1, le=MAX_PRICE_CENTS)
    price_cents: int | None = Field(default=None, ge=0, le=MAX_PRICE_CENTS)
    ticket_type_id: uuid.UUID | None = Field(default=None, description="only this ticket type; none: any of the event")
    max_uses: int = Field(default=1, ge=1, le=MAX_USES, description="seats it may be redeemed for, in all")
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    reserve_seats: bool = Field(default=False, description=RESERVE)
    tag: Text | None = Field(default=None, max_length=100, description="groups vouchers, e.g. a campaign")
    comment: Text | None = Field(default=None, max_length=500, description="for the organiser only")


class VoucherIn(VoucherTermsIn):
    code: VoucherCode | None = Field(default=None, description="none: a random code is made")


class VoucherBulkIn(VoucherTermsIn):
    count: int = Field(ge=1, le=MAX_BULK, description="how many vouchers, each with its own random code")
    prefix: str = Field(default="", max_length=32, pattern=r"^[A-Za-z0-9_-]*$", description="every code starts so")


class VoucherPatch(Body):
    """Members left out keep their value. The discount, ticket type and code never change (held seats were
    priced with them)."""

    max_uses: int | MISSING = Field(default=MISSING, ge=1, le=MAX_USES)
    valid_from: AwareDatetime | MISSING | None = MISSING
    valid_until: AwareDatetime | MISSING | None = MISSING
    reserve_seats: bool | MISSING = Field(default=MISSING, description=RESERVE)
    active: bool | MISSING = MISSING
    tag: Text | MISSING | None = Field(default=MISSING, max_length=100)
    comment: Text | MISSING | None = Field(default=MISSING, max_length=500)


class VoucherOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_id: uuid.UUID | None
    code: str
    kind: str
    percent_off: float | None
    amount_off_cents: int | None
    price_cents: int | None
    max_uses: int
    uses: int
    uses_left: int
    reserve_seats: bool
    reserved: int = Field(description="seats kept for its holders now")
    valid_from: datetime | None
    valid_until: datetime | None
    active: bool
    tag: str | None
    comment: str | None
    created_at: datetime
    updated_at: datetime


class VoucherBulkOut(BaseModel):
    count: int
    vouchers: list[VoucherOut]


def voucher_out(v: Voucher) -> VoucherOut:
    kind = VoucherKind(v.kind)
    return VoucherOut(
        id=v.id,
        event_id=v.event_id,
        ticket_type_id=v.ticket_type_id,
        code=v.code,
        kind=v.kind,
        percent_off=v.value / 100 if kind is VoucherKind.PERCENTAGE else None,
        amount_off_cents=v.value if kind is VoucherKind.AMOUNT_OFF else None,
        price_cents=v.value if kind is VoucherKind.FIXED_PRICE else None,
        max_uses=v.max_uses,
        uses=v.uses,
        uses_left=max(v.max_uses - v.uses, 0),
        reserve_seats=v.reserve_seats,
        reserved=v.reserved,
        valid_from=v.valid_from,
        valid_until=v.valid_until,
        active=v.active,
        tag=v.tag,
        comment=v.comment,
        created_at=v.created_at,
        updated_at=v.updated_at,
    )
