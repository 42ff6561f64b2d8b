"""Request and response bodies of checkouts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from boxoffice.api.schemas import EMAIL_PATTERN, Body


class BuyerIn(Body):
    email: str = Field(pattern=EMAIL_PATTERN, max_length=320)
    name: str = Field(min_length=1, max_length=200)


class AttendeeIn(Body):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=320)


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
