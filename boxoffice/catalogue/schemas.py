"""Request and response bodies of the catalogue: events, ticket types, availability."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from boxoffice.api.schemas import AwareDatetime, Body


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
