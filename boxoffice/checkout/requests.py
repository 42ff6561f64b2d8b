"""A buyer's checkout request: idempotency, early refusal of bad requests, then the checkout run.

``create_checkout`` refuses what the workflow would refuse before anything starts (the workflow re-checks
atomically), so a bad request changes nothing; a repeat with the same ``Idempotency-Key`` and body returns the
same order, with another body it is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from boxoffice.auth import Principal
from boxoffice.checkout import drafts, opening, orders
from boxoffice.checkout.client import RunLabel, start_checkout
from boxoffice.checkout.contract import CheckoutInput, OrderSummary, checkout_workflow_id
from boxoffice.checkout.schemas import CheckoutIn, CheckoutOut
from boxoffice.config import Settings
from boxoffice.errors import ServiceUnavailable, ValidationFailed
from boxoffice.models import Order
from boxoffice.models.types import utcnow
from boxoffice.payments.providers import Providers

IDEMPOTENCY_NAMESPACE = uuid.UUID("9e3f6c0a-5b1d-4f7e-8a2c-1d4b6e8f0a13")
UPDATE_TIMEOUT_SECONDS = 25


def request_hash(body: CheckoutIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_id_for(who: Principal, idempotency_key: str | None) -> str:
    """With a key, the order id is derived from it, so concurrent repeats meet at the same workflow id."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{who.org_id}\x00{who.user_id}\x00{idempotency_key}"))


def response(summary: OrderSummary) -> CheckoutOut:
    return CheckoutOut(
        order_id=uuid.UUID(summary.order_id),
        status=summary.status,
        total_amount=summary.total_amount,
        currency=summary.currency,
        payment_url=summary.payment_url,
        expires_at=summary.expires_at,  # type: ignore[arg-type]  # pydantic parses the ISO 8601 text
        workflow_id=checkout_workflow_id(summary.order_id),
    )


def _same_request(summary: OrderSummary, digest: str) -> OrderSummary:
    if summary.request_hash and summary.request_hash != digest:
        raise ValidationFailed("this Idempotency-Key was used with a different request", code="idempotency_key_reused")
    return summary


async def _existing(session: AsyncSession, order_id: str, digest: str) -> OrderSummary | None:
    order = await session.get(Order, uuid.UUID(order_id))
    if order is None:
        return None
    return _same_request(orders.summary(order, await orders.get_transaction(session, order_id)), digest)


async def create_checkout(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    providers: Providers,
    who: Principal,
    body: CheckoutIn,
    idempotency_key: str | None,
) -> CheckoutOut:
    digest = request_hash(body)
    order_id = order_id_for(who, idempotency_key)
    if idempotency_key is not None and (done := await _existing(session, order_id, digest)) is not None:
        return response(done)
    inp = CheckoutInput(
        order_id=order_id,
        organization_id=who.org_id,
        event_id="",
        user_id=who.user_id,
        hold_ids=[str(h) for h in body.hold_ids],
        provider=body.provider,
        request_hash=digest,
        unit_prices_cents={str(k): v for k, v in (body.unit_prices_cents or {}).items()},
        tip_cents=body.tip_cents,
        return_url=body.return_url,
        idempotency_key=idempotency_key,
        payment_window_seconds=settings.payment_window_seconds,
        poll_interval_seconds=settings.payment_poll_interval_seconds,
        late_payment_grace_seconds=settings.late_payment_grace_seconds,
    )
    attendees = [(a.name, a.email) for a in body.attendees or []]
    event, quote = await opening.precheck(session, inp, utcnow(), attendees=len(attendees))
    inp.event_id = str(event.id)
    if quote.total_amount > 0:
        orders.ensure_currency(providers.for_request(inp.provider), event.currency)
    # Issue 11: the buyer's details wait in the database for the run's first step; the run carries the order id.
    await drafts.save(session, order_id, email=body.buyer.email, name=body.buyer.name, attendees=attendees)
    await session.commit()  # before the run starts: its first step reads the draft
    label = RunLabel(event.name, body.buyer.email, quote.total_amount, event.currency, len(attendees))
    try:
        summary = await asyncio.wait_for(
            start_checkout(client, inp, task_queue=settings.checkout_task_queue, label=label), UPDATE_TIMEOUT_SECONDS
        )
    except WorkflowAlreadyStartedError:
        done = await _existing(session, order_id, digest)
        if done is None:
            raise
        return response(done)
    except RPCError:
        # The run did not start (or, if it did, its first step fails for want of the draft and unwinds).
        await drafts.discard(session, order_id)
        await session.commit()
        raise
    except TimeoutError:
        raise ServiceUnavailable(
            "the checkout started but its payment page is not ready yet; read the order",
            code="checkout_pending",
            order_id=order_id,
        ) from None
    return response(_same_request(summary, digest))
