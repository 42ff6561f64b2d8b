"""Request and response bodies of the catalogue: events, ticket types, availability."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field

from boxoffice.api.schemas import MAX_CAPACITY, MAX_PRICE_CENTS, AwareDatetime, Body, Name, Text

# Rules the catalogue enforces with their own codes (``negative_price``, ``invalid_max_per_order``,
# ``price_required``, ``free_with_price``, ``pwyw_fields_on_fixed``), declared in the schema only, so that clients
# see them while the runtime answer keeps its stable code.
NOT_NEGATIVE: dict[str, Any] = {"minimum": 0}
AT_LEAST_ONE: dict[str, Any] = {"minimum": 1}
PWYW_ONLY = {"minimum_price_cents": {"type": "null"}, "suggested_price_cents": {"type": "null"}}
PRICING_RULES: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"pricing_model": {"const": "fixed"}}},
            "then": {"properties": {"base_price_cents": {"minimum": 1}, **PWYW_ONLY}, "required": ["base_price_cents"]},
        },
        {
            "if": {"properties": {"pricing_model": {"const": "free"}}},
            "then": {"properties": {"base_price_cents": {"const": 0}, **PWYW_ONLY}},
        },
    ]
}
# The gate (issue 9): how often a ticket gets in.
CheckinPolicyName = Literal["single_entry", "reentry"]
CHECKIN_POLICY = "single_entry (default): a ticket gets in once; reentry: again after an exit scan"
TYPE_CHECKIN_POLICY = "overrides the event's check-in policy for this type; null follows the event"


class EventIn(Body):
    name: Name = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    currency: str = Field(pattern="^[A-Za-z]{3}$", description="ISO 4217 code")
    venue: Text | None = Field(default=None, max_length=300)
    timezone: Text = Field(default="UTC", max_length=64, description="IANA time zone")
    service_fee_bps: int = Field(default=0, ge=0, le=10_000)
    service_fee_fixed_cents: int = Field(default=0, ge=0, le=MAX_PRICE_CENTS)
    checkin_policy: CheckinPolicyName = Field(default="single_entry", description=CHECKIN_POLICY)


class EventPatch(Body):
    """Members left out keep their value."""

    checkin_policy: CheckinPolicyName | MISSING = Field(default=MISSING, description=CHECKIN_POLICY)


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
    checkin_policy: str


class TicketTypeIn(Body):
    """A fixed price is positive, a free type costs 0, and only pay-what-you-want takes minimum and suggested
    prices (see ``PRICING_RULES``)."""

    model_config = ConfigDict(json_schema_extra=PRICING_RULES)
    name: Name = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=0, le=MAX_CAPACITY)
    pricing_model: Literal["fixed", "pay_what_you_want", "free"]
    base_price_cents: int = Field(default=0, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE)
    minimum_price_cents: int | None = Field(default=None, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE)
    suggested_price_cents: int | None = Field(default=None, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE)
    max_per_order: int | None = Field(default=None, le=MAX_CAPACITY, json_schema_extra=AT_LEAST_ONE)
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = None
    checkin_policy: CheckinPolicyName | None = Field(default=None, description=TYPE_CHECKIN_POLICY)


class TicketTypePatch(Body):
    """Members left out keep their value; ``null`` clears the optional ones (name, capacity and base price
    cannot be cleared). Rules that depend on the stored pricing model are checked against it."""

    name: Name | MISSING = Field(default=MISSING, min_length=1, max_length=200)
    capacity: int | MISSING = Field(default=MISSING, ge=0, le=MAX_CAPACITY)
    base_price_cents: int | MISSING = Field(default=MISSING, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE)
    minimum_price_cents: int | MISSING | None = Field(
        default=MISSING, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE
    )
    suggested_price_cents: int | MISSING | None = Field(
        default=MISSING, le=MAX_PRICE_CENTS, json_schema_extra=NOT_NEGATIVE
    )
    max_per_order: int | MISSING | None = Field(default=MISSING, le=MAX_CAPACITY, json_schema_extra=AT_LEAST_ONE)
    sales_start: AwareDatetime | MISSING | None = MISSING
    sales_end: AwareDatetime | MISSING | None = MISSING
    checkin_policy: CheckinPolicyName | MISSING | None = Field(default=MISSING, description=TYPE_CHECKIN_POLICY)


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
    checkin_policy: str | None


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
