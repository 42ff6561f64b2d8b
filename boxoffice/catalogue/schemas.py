"""Request and response bodies of the catalogue: events, ticket types, availability."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, model_validator

from boxoffice.api.schemas import MAX_CAPACITY, MAX_PRICE_CENTS, AwareDatetime, Body, Name, Text
from boxoffice.models import Event

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


# After the sale (issue 13): a buyer's own cancellation of a paid order, and what it keeps.
REFUND_POLICY = (
    "A buyer may cancel a paid order until `cancel_until`, or until `cancel_hours_before_start` hours before the "
    "event starts (at most one of the two; neither: until the start), and is refunded everything paid but a fee of "
    "`fee_fixed_cents` plus `fee_bps` basis points of the tickets' prices. Null: buyers cannot cancel paid orders. "
    "A PATCH replaces the whole policy."
)
ONE_DEADLINE: dict[str, Any] = {"not": {"required": ["cancel_until", "cancel_hours_before_start"]}}


class RefundPolicy(Body):
    model_config = ConfigDict(json_schema_extra=ONE_DEADLINE)
    cancel_until: AwareDatetime | None = None
    cancel_hours_before_start: int | None = Field(default=None, ge=0, le=8760)
    fee_fixed_cents: int = Field(default=0, ge=0, le=MAX_PRICE_CENTS)
    fee_bps: int = Field(default=0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _one_deadline(self) -> RefundPolicy:
        if {"cancel_until", "cancel_hours_before_start"} <= self.model_fields_set:
            raise ValueError("give cancel_until or cancel_hours_before_start, not both")
        return self


class RefundPolicyOut(BaseModel):
    cancel_until: datetime | None
    cancel_hours_before_start: int | None
    fee_fixed_cents: int
    fee_bps: int


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
    refund_policy: RefundPolicy | None = Field(default=None, description=REFUND_POLICY)


class EventPatch(Body):
    """Members left out keep their value. Name, venue, times and time zone follow to the tickets (new validity,
    PDFs re-issued, buyers told); what cannot change safely is refused (``event_cancelled``, ``event_ended``,
    ``event_ends_before_start``, ``event_end_in_past``, ``sales_window_after_event``)."""

    checkin_policy: CheckinPolicyName | MISSING = Field(default=MISSING, description=CHECKIN_POLICY)
    name: Name | MISSING = Field(default=MISSING, min_length=1, max_length=200)
    venue: Text | MISSING | None = Field(default=MISSING, max_length=300)
    starts_at: AwareDatetime | MISSING = MISSING
    ends_at: AwareDatetime | MISSING = MISSING
    timezone: Text | MISSING = Field(default=MISSING, max_length=64, description="IANA time zone")
    refund_policy: RefundPolicy | MISSING | None = Field(default=MISSING, description=REFUND_POLICY)


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
    # After the sale (issue 13).
    status: Literal["scheduled", "cancelled"] = "scheduled"
    cancelled_at: datetime | None = None
    revision: int = 0
    refund_policy: RefundPolicyOut | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_event(cls, data: Any) -> Any:
        """From an ``Event`` row: its status and refund policy are read from its columns."""
        if isinstance(data, Event):
            fields = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
            fields["status"] = "cancelled" if data.cancelled_at is not None else "scheduled"
            fields["refund_policy"] = refund_policy_of(data)
            return fields
        return data


def refund_policy_of(event: Event) -> RefundPolicyOut | None:
    """The event's refund policy, or None when its buyers cannot cancel paid orders."""
    if event.refund_cancel_until is None and event.refund_cancel_hours_before_start is None:
        return None
    return RefundPolicyOut(
        cancel_until=event.refund_cancel_until,
        cancel_hours_before_start=event.refund_cancel_hours_before_start,
        fee_fixed_cents=event.refund_fee_fixed_cents,
        fee_bps=event.refund_fee_bps,
    )


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
