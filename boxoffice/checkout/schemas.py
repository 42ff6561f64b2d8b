"""Request and response bodies of checkouts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from boxoffice.api.schemas import MAX_PRICE_CENTS, Body, Email, Name


class BuyerIn(Body):
    email: Email = Field(max_length=320)
    name: Name = Field(min_length=1, max_length=200)


class AttendeeIn(Body):
    name: Name = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=320)


class CheckoutIn(Body):
    hold_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    provider: Literal["sandbox", "paystack", "yoco", "stripe"]
    buyer: BuyerIn
    attendees: list[AttendeeIn] | None = Field(default=None, max_length=200)
    unit_prices_cents: dict[uuid.UUID, Annotated[int, Field(ge=0, le=MAX_PRICE_CENTS)]] | None = None
    tip_cents: int = Field(default=0, ge=0, le=MAX_PRICE_CENTS)
    return_url: str | None = Field(default=None, pattern=r"^https?://[^\x00]*$", max_length=2000)


class CheckoutOut(BaseModel):
    order_id: uuid.UUID
    status: str
    total_amount: int
    currency: str
    payment_url: str | None
    expires_at: datetime
    workflow_id: str


class PaymentCheckOut(BaseModel):
    """An org admin's payment re-check, handed to the order's checkout run (issue 11)."""

    order_id: uuid.UUID
    request_id: uuid.UUID
    workflow_id: str
    status: str  # the order's status when the run was asked
