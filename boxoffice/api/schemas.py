"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2027-01-01T19:00:00Z")
    return v


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EventIn(Body):
    name: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    currency: str = Field(min_length=3, max_length=3)
    venue: str | None = Field(default=None, max_length=300)
    timezone: str = Field(default="UTC", max_length=64)
    service_fee_bps: int = Field(default=0, ge=0, le=10_000)
    service_fee_fixed_cents: int = Field(default=0, ge=0)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: str
    name: str
    venue: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    currency: str
    service_fee_bps: int
    service_fee_fixed_cents: int
    created_at: datetime


class TicketTypeIn(Body):
    name: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=0, le=10_000_000)
    pricing_model: str = Field(pattern="^(fixed|pay_what_you_want|free)$")
    base_price_cents: int = Field(default=0, le=100_000_000)
    minimum_price_cents: int | None = Field(default=None, le=100_000_000)
    suggested_price_cents: int | None = Field(default=None, le=100_000_000)
    max_per_order: int | None = None
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = None


class TicketTypePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, le=10_000_000)
    base_price_cents: int | None = Field(default=None, le=100_000_000)
    minimum_price_cents: int | None = Field(default=None, le=100_000_000)
    suggested_price_cents: int | None = Field(default=None, le=100_000_000)
    max_per_order: int | None = None
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = None


class TicketTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    capacity: int
    held: int
    sold: int
    available: int
    pricing_model: str
    base_price_cents: int
    minimum_price_cents: int | None
    suggested_price_cents: int | None
    max_per_order: int | None
    sales_start: datetime | None
    sales_end: datetime | None


class AvailabilityOut(BaseModel):
    ticket_type_id: uuid.UUID
    name: str
    capacity: int
    available: int
    held: int
    sold: int
    pricing_model: str
    base_price_cents: int
    minimum_price_cents: int | None
    suggested_price_cents: int | None
    max_per_order: int | None
    currency: str
    on_sale: bool


class HoldIn(Body):
    ticket_type_id: uuid.UUID
    quantity: int = Field(ge=1, le=1000)


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    quantity: int
    status: str
    expires_at: datetime
    order_id: uuid.UUID | None


class BuyerIn(Body):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    name: str = Field(min_length=1, max_length=200)


class AttendeeIn(Body):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)


class CheckoutIn(Body):
    hold_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    provider: str = Field(pattern="^(sandbox|paystack|yoco|stripe)$")
    buyer: BuyerIn
    attendees: list[AttendeeIn] | None = Field(default=None, max_length=200)
    unit_prices_cents: dict[uuid.UUID, Annotated[int, Field(ge=0, le=100_000_000)]] | None = None
    tip_cents: int = Field(default=0, ge=0, le=100_000_000)
    return_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)


class CheckoutOut(BaseModel):
    order_id: uuid.UUID
    status: str
    total_amount: int
    currency: str
    payment_url: str | None
    expires_at: datetime
    workflow_id: str
