"""The sandbox provider's own books (it plays the provider): payments, outcomes and refunds."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.api.schemas import Text
from boxoffice.errors import Conflict, NotFound
from boxoffice.models import SandboxPayment
from boxoffice.sandbox import links

# The sandbox keeps amounts in INTEGER columns, like the orders it is paid for.
MAX_AMOUNT = 2**31 - 1


class PaymentIn(BaseModel):
    """A payment created through the sandbox's API (what ``payments.sandbox.SandboxProvider`` sends). Strings are
    NUL-free and amounts fit the columns, so no request reaches the database that it would refuse."""

    reference: Text = Field(min_length=1, max_length=100)
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    currency: Text = Field(min_length=3, max_length=3)
    email: Text = Field(max_length=320)
    description: Text = ""
    return_url: Text | None = Field(default=None, max_length=4000)
    cancel_url: Text | None = Field(default=None, max_length=4000)


class RefundIn(BaseModel):
    reference: Text = Field(min_length=1, max_length=100)
    amount: int = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    refund_id: Text = Field(min_length=1, max_length=64)


def view(p: SandboxPayment, public_url: str, secret: str) -> dict[str, Any]:
    """The payment as the sandbox's API shows it; ``payment_url`` is the buyer's signed page (see ``links``)."""
    return {
        "reference": p.reference,
        "status": p.status,
        "amount": p.amount,
        "currency": p.currency,
        "transaction_id": p.provider_transaction_id,
        "refunded_amount": p.refunded_amount,
        "payment_url": public_url + links.pay_page_path(secret, p.reference),
    }


async def create_payment(session: AsyncSession, body: PaymentIn, now: datetime) -> SandboxPayment:
    """Idempotent by reference, like Paystack: a repeat with the same reference returns the first payment."""
    existing = await session.get(SandboxPayment, body.reference)
    if existing is not None:
        return existing
    p = SandboxPayment(
        reference=body.reference,
        amount=body.amount,
        currency=body.currency,
        email=body.email,
        description=body.description[:300],
        return_url=body.return_url or "",
        cancel_url=body.cancel_url or "",
        provider_transaction_id=f"sbx_{uuid.uuid4().hex[:20]}",
        created_at=now,
    )
    session.add(p)
    await session.flush()
    return p


async def get_payment(session: AsyncSession, reference: str, *, lock: bool = False) -> SandboxPayment:
    p = await session.get(SandboxPayment, reference, with_for_update=lock)
    if p is None:
        raise NotFound("no such sandbox payment", code="sandbox_payment_not_found")
    return p


async def decide(session: AsyncSession, reference: str, action: str, now: datetime) -> SandboxPayment:
    """The buyer pressed Pay or Decline. A decided payment cannot change."""
    p = await get_payment(session, reference, lock=True)
    if p.status != "pending":
        raise Conflict(f"this payment is already {p.status}", code="sandbox_payment_decided")
    p.status = "succeeded" if action == "pay" else "declined"
    p.paid_at = now if action == "pay" else None
    return p


async def refund(session: AsyncSession, body: RefundIn, now: datetime) -> dict[str, Any]:
    """Refund part or all of a captured payment, once per refund id (a repeat returns the first outcome)."""
    p = await get_payment(session, body.reference, lock=True)
    for r in p.refunds:
        if r["refund_id"] == body.refund_id:
            return dict(r)
    amount = body.amount
    if p.status != "succeeded":
        outcome = {"status": "failed", "error": f"payment is {p.status}"}
    elif amount <= 0 or p.refunded_amount + amount > p.amount:
        outcome = {"status": "failed", "error": "amount exceeds what remains refundable"}
    else:
        p.refunded_amount += amount
        outcome = {"status": "succeeded"}
    record = {
        "id": f"sbr_{uuid.uuid4().hex[:16]}",
        "refund_id": body.refund_id,
        "amount": amount,
        "created_at": now.isoformat(),
        **outcome,
    }
    p.refunds = [*p.refunds, record]
    return record


def webhook_body(p: SandboxPayment, event_type: str, *, event_id: str | None = None, **extra: Any) -> bytes:
    doc = {
        "id": event_id or f"sbe_{uuid.uuid4().hex}",
        "type": event_type,
        "data": {
            "reference": p.reference,
            "amount": p.amount,
            "currency": p.currency,
            "transaction_id": p.provider_transaction_id,
            "status": p.status,
            **extra,
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()
