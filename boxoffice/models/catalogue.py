"""Organisations, events, ticket types and holds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from boxoffice.models.states import HoldStatus
from boxoffice.models.types import UTCDateTime, new_id, utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    __tablename__ = "events"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    venue: str | None = Field(default=None, max_length=300)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(default="UTC", max_length=64)
    currency: str = Field(max_length=3)
    # Per-event service fee charged to the buyer on paid orders: basis points of the subtotal plus a fixed part.
    service_fee_bps: int = Field(default=0, ge=0)
    service_fee_fixed_cents: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The gate (issue 9): single_entry or reentry (after an exit scan); a ticket type may override it.
    checkin_policy: str = Field(default="single_entry", sa_column=Column(String(16), nullable=False))
    # After the sale (issue 13). Cancelled: sales stop at ``cancelled_at`` (the hold's own statement refuses) and
    # every paid order is refunded. ``revision`` counts the edits buyers were told about (name, venue, times).
    # The refund policy of a buyer's own cancellation: until ``refund_cancel_until`` or so many hours before the
    # start (neither: buyers cannot cancel paid orders), keeping a fee of a fixed part plus basis points of the
    # tickets' prices.
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=128)
    cancellation_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    refund_cancel_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refund_cancel_hours_before_start: int | None = None
    refund_fee_fixed_cents: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    refund_fee_bps: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class TicketType(SQLModel, table=True):
    __tablename__ = "ticket_types"
    __table_args__ = (
        CheckConstraint("held >= 0 AND sold >= 0 AND held + sold <= capacity", name="ck_ticket_types_inventory"),
        CheckConstraint("capacity >= 0", name="ck_ticket_types_capacity"),
        CheckConstraint("reserved >= 0", name="ck_ticket_types_reserved"),  # issue 13 (PostgreSQL: migration 0008)
        # Issue 13, waiting lists (PostgreSQL: migration 0010). That the kept seats are free seats is the statements'
        # rule (and the checker's), not a constraint: an organiser's capacity cut or a voucher's reservation may
        # take them, and the list's next step then keeps what is left.
        CheckConstraint(
            "waitlist_reserved >= 0 AND waitlist_reserved <= waitlist_waiting", name="ck_ticket_types_waitlist"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="events.id", index=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    capacity: int
    held: int = 0
    sold: int = 0
    pricing_model: str = Field(sa_type=String(20))
    base_price_cents: int = 0
    minimum_price_cents: int | None = None
    suggested_price_cents: int | None = None
    max_per_order: int | None = None
    sales_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sales_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The gate (issue 9): null follows the event's check-in policy.
    checkin_policy: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # Vouchers (issue 13): seats only voucher holders may take, Σ of the reserving vouchers' ``reserved``; ordinary
    # holds leave them (``held + sold + reserved + q ≤ capacity``).
    reserved: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Waiting lists (issue 13): the seats its waiting buyers want, and the free seats kept for them (at most that
    # many); ordinary holds leave those too. See ``boxoffice.waitlist``.
    waitlist_waiting: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    waitlist_reserved: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))

    @property
    def available(self) -> int:
        return max(self.capacity - self.held - self.sold - self.reserved - self.waitlist_reserved, 0)


class Hold(SQLModel, table=True):
    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_holds_quantity"),
        Index("ix_holds_status_expires_at", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    event_id: uuid.UUID = Field(foreign_key="events.id")
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_types.id", index=True)
    user_id: str = Field(index=True, max_length=128)
    quantity: int
    status: str = Field(default=HoldStatus.ACTIVE, sa_column=Column(String(16), nullable=False))
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Set while a checkout owns the hold: the expiry sweeper leaves claimed holds to their checkout.
    order_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Vouchers (issue 13): the voucher this hold redeemed (one use per seat, given back if the hold ends unsold).
    voucher_id: uuid.UUID | None = Field(default=None, foreign_key="vouchers.id")
