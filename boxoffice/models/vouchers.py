"""Vouchers (issue 13): codes that change a ticket's price and may reserve seats for their holders.

``uses`` counts seats redeemed: held by an active hold or sold in an order that was not cancelled or refunded.
It only moves in the statement that takes or gives back a hold's or a ticket's seat, so ``uses ≤ max_uses``
holds under any concurrency (and the CHECK below backs it in the schema).

A voucher ``reserving`` seats keeps ``reserved = max_uses − uses`` of its ticket type's capacity for its holders,
counted in ``ticket_types.reserved``; one not reserving keeps ``reserved = 0``. ``reserve_seats`` is what the
organiser asked for; ``reserving`` is whether the reservation stands now (it ends when the voucher is deactivated
or its validity ends, and seats come back on sale).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from boxoffice.models.types import UTCDateTime, new_id, utcnow

VOUCHER_KINDS = ("percentage", "amount_off", "fixed_price", "free")


class Voucher(SQLModel, table=True):
    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("event_id", "code", name="uq_vouchers_event_code"),
        CheckConstraint(
            "max_uses >= 1 AND uses >= 0 AND reserved >= 0 AND uses + reserved <= max_uses", name="ck_vouchers_uses"
        ),
        CheckConstraint(
            "kind IN ('percentage', 'amount_off', 'fixed_price', 'free') AND value >= 0 "
            "AND (kind <> 'percentage' OR value <= 10000)",
            name="ck_vouchers_discount",
        ),
        Index("ix_vouchers_event_tag", "event_id", "tag"),
        Index("ix_vouchers_reserving_valid_until", "reserving", "valid_until"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    event_id: uuid.UUID = Field(foreign_key="events.id")
    # None: any ticket type of the event.
    ticket_type_id: uuid.UUID | None = Field(default=None, foreign_key="ticket_types.id")
    code: str = Field(max_length=64)  # upper case, as buyers' input is normalised
    # percentage: value in basis points (1250 = 12.5 %); amount_off: minor units off each ticket; fixed_price: each
    # ticket's price in minor units; free: value 0.
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    value: int = 0
    max_uses: int = 1
    uses: int = 0
    reserve_seats: bool = False
    reserving: bool = False
    reserved: int = 0
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = True
    tag: str | None = Field(default=None, max_length=100)
    comment: str | None = Field(default=None, max_length=500)
    created_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
