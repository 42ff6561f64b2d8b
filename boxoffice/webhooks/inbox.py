"""The webhook inbox: record every authentic provider event once, then deliver it to its workflow.

Recording is what the provider's 200 promises. Delivery follows at once; if it fails (Temporal down) the
event stays ``received`` and the relay (``WebhookRelayWorkflow``) retries it. A payment event whose checkout
has closed starts a ``LatePaymentWorkflow``, which refunds money taken for an order that was not fulfilled.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from boxoffice import metrics
from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.codec import clear_text
from boxoffice.db import Database
from boxoffice.errors import ValidationFailed
from boxoffice.logging import get_logger
from boxoffice.models import Refund, Transaction, WebhookEvent
from boxoffice.models.states import REFUND_IN_FLIGHT
from boxoffice.models.types import utcnow
from boxoffice.payments.base import EventKind, InvalidSignature, PaymentProvider, order_id_from_reference
from boxoffice.payments.base import WebhookEvent as ProviderEvent
from boxoffice.refunds.contract import refund_workflow_id
from boxoffice.webhooks.contract import (
    LATE_PAYMENT_WORKFLOW,
    SIGNAL_PAYMENT_EVENT,
    LatePaymentInput,
    PaymentEventSignal,
    late_payment_workflow_id,
)

log = get_logger(__name__)
_INBOX = WebhookEvent.__table__  # type: ignore[attr-defined]
PAYMENT_KINDS = {EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED, EventKind.PAYMENT_EXPIRED}
REFUND_KINDS = {EventKind.REFUND_SUCCEEDED, EventKind.REFUND_FAILED, EventKind.REFUND_PENDING}


def check_storable(event: ProviderEvent) -> None:
    """Refuse with 422 ``webhook_unusable``, recording nothing, an authentic event whose identifying fields the
    inbox cannot hold: not text, NUL characters (PostgreSQL text cannot hold them) or longer than their column.
    None of those could name an order or refund of ours (our references are ``bo-{uuid}``), so nothing is lost."""
    for name in ("event_id", "raw_type", "reference", "provider_reference", "provider_refund_id"):
        value = getattr(event, name)
        if value is None and name not in ("event_id", "raw_type"):
            continue
        limit = 10_000 if name == "raw_type" else _INBOX.c[name].type.length  # raw_type is stored truncated
        if not isinstance(value, str) or (name == "event_id" and not value) or "\x00" in value or len(value) > limit:
            raise ValidationFailed(
                f"the event's {name} is not text of at most {limit} characters without NUL", code="webhook_unusable"
            )


def authenticate(provider: PaymentProvider, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
    """The provider's event from a body its signature vouches for; ``InvalidSignature`` (counted) otherwise."""
    try:
        return provider.parse_webhook(headers, body)
    except InvalidSignature:
        _count(metrics.WEBHOOK_DELIVERIES, provider.name, "invalid_signature")
        raise


def _count(series: Counter, provider: str, outcome: str) -> None:
    series.labels(metrics.code(provider), outcome).inc()


async def record(db: Database, event: ProviderEvent) -> uuid.UUID | None:
    """Store the event durably; None when this provider event id was recorded before (a repeat). Counted (issue
    11) once committed: ``recorded``, ``ignored`` (authentic, of a kind we do not act on) or ``duplicate``."""
    try:
        check_storable(event)
    except ValidationFailed:
        _count(metrics.WEBHOOK_DELIVERIES, event.provider, "unusable")
        raise
    async with db.transaction() as session:
        order_id = await _find_order(session, event)
        dialect = db.engine.dialect.name
        ins = (postgresql if dialect == "postgresql" else sqlite).insert(WebhookEvent)
        row = await session.execute(
            ins.values(
                id=uuid.uuid4(),
                provider=event.provider,
                event_id=event.event_id,
                kind=event.kind.value,
                raw_type=event.raw_type[:80],
                reference=event.reference,
                provider_reference=event.provider_reference,
                provider_refund_id=event.provider_refund_id,
                refund_id=_uuid_text(event.refund_id),
                order_id=order_id,
                payload=dict(event.raw),
                status="received" if event.kind is not EventKind.IGNORED else "ignored",
                attempts=0,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(col(WebhookEvent.id))
        )
        first = row.first()
    outcome = "duplicate" if not first else "ignored" if event.kind is EventKind.IGNORED else "recorded"
    _count(metrics.WEBHOOK_DELIVERIES, event.provider, outcome)
    return first[0] if first else None


def _uuid_text(value: str | None) -> str | None:
    """``value`` if it is a uuid (a provider echoing something else is ignored), canonical."""
    try:
        return str(uuid.UUID(value)) if value else None
    except (ValueError, TypeError, AttributeError):  # not text, or text that is not a uuid
        return None


async def _find_order(session: AsyncSession, event: ProviderEvent) -> uuid.UUID | None:
    if event.reference and (oid := order_id_from_reference(event.reference)):
        try:
            return uuid.UUID(oid)
        except ValueError:
            pass
    if event.provider_reference:
        txn = (
            await session.execute(
                select(col(Transaction.order_id)).where(
                    col(Transaction.provider) == event.provider,
                    col(Transaction.provider_reference) == event.provider_reference,
                )
            )
        ).first()
        if txn:
            return txn[0]
    return None


async def deliver(
    db: Database,
    client: Client,
    inbox_id: uuid.UUID,
    *,
    task_queue: str,
    poll_interval_seconds: int = 30,
    relay: bool = False,
) -> str:
    """Hand a recorded event to its workflow. Returns the event's new status; raises if Temporal is unreachable.
    Counted (issue 11) by its new status, as a first delivery or (``relay``) as the relay's."""
    async with db.session() as session:
        ev = await session.get(WebhookEvent, inbox_id)
        assert ev is not None
        if ev.status != "received":
            return ev.status
        kind = EventKind(ev.kind)
        order_id = ev.order_id
        refund_id = None
        if kind in REFUND_KINDS:
            refund_id = await _find_refund(session, ev)
    status, error = "resolved", None
    if kind in PAYMENT_KINDS and order_id is not None:
        signal = PaymentEventSignal(provider=ev.provider, event_id=ev.event_id, kind=kind.value)
        handle: WorkflowHandle = client.get_workflow_handle(checkout_workflow_id(str(order_id)))
        try:
            await handle.signal(SIGNAL_PAYMENT_EVENT, signal)
            status = "delivered"
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            # The checkout has closed: only money taken matters now. The late-payment run confirms with the
            # provider and refunds anything captured for an order that was not fulfilled.
            if kind is EventKind.PAYMENT_SUCCEEDED:
                await client.start_workflow(
                    LATE_PAYMENT_WORKFLOW,
                    LatePaymentInput(order_id=str(order_id), poll_interval_seconds=poll_interval_seconds),
                    id=late_payment_workflow_id(str(order_id)),
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    static_summary=clear_text(f"Late payment for order {order_id}: confirm and refund"),  # issue 11
                )
                status = "delivered"
    elif kind in REFUND_KINDS and refund_id is not None:
        try:
            await client.get_workflow_handle(refund_workflow_id(str(refund_id))).signal(
                SIGNAL_PAYMENT_EVENT, PaymentEventSignal(provider=ev.provider, event_id=ev.event_id, kind=kind.value)
            )
            status = "delivered"
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            status = "resolved"  # the refund run has finished: it confirmed the outcome with the provider itself
    else:
        error = "no order or refund matches this event"
    async with db.transaction() as session:
        await session.execute(
            update(WebhookEvent)
            .where(col(WebhookEvent.id) == inbox_id)
            .values(status=status, delivered_at=utcnow(), attempts=col(WebhookEvent.attempts) + 1, last_error=error)
        )
    _count(metrics.WEBHOOK_RELAYS if relay else metrics.WEBHOOK_DELIVERIES, ev.provider, status)
    return status


async def _find_refund(session: AsyncSession, ev: WebhookEvent) -> uuid.UUID | None:
    """The refund a refund event is about: by our refund id when the event carries it (Stripe refund metadata,
    Paystack merchant note), else by the provider's refund id, else the order's refund in flight (an order has
    at most one). Only a hint is delivered: the refund workflow confirms with the provider."""
    if ev.refund_id is not None and await session.get(Refund, uuid.UUID(ev.refund_id)) is not None:
        return uuid.UUID(ev.refund_id)
    if ev.provider_refund_id:
        row = (
            await session.execute(
                select(col(Refund.id))
                .join(Transaction, col(Transaction.id) == col(Refund.transaction_id))
                .where(
                    col(Refund.provider_refund_id) == ev.provider_refund_id, col(Transaction.provider) == ev.provider
                )
            )
        ).first()
        if row:
            return row[0]
    if ev.order_id is not None:
        row = (
            await session.execute(
                select(col(Refund.id))
                .where(col(Refund.order_id) == ev.order_id, col(Refund.status).in_(REFUND_IN_FLIGHT))
                .order_by(col(Refund.created_at).desc())
                .limit(1)
            )
        ).first()
        if row:
            return row[0]
    return None


async def mark_failed_attempt(db: Database, inbox_id: uuid.UUID, error: str, *, relay: bool = False) -> None:
    """Record a failed delivery; the event stays ``received`` for the relay. Counted (issue 11): ``queued`` after a
    first delivery, ``failed`` after the relay's."""
    async with db.transaction() as session:
        provider = (
            await session.execute(
                update(WebhookEvent)
                .where(col(WebhookEvent.id) == inbox_id)
                .values(attempts=col(WebhookEvent.attempts) + 1, last_error=error[:2000])
                .returning(col(WebhookEvent.provider))
            )
        ).scalar_one_or_none()
    if provider is not None:
        series = metrics.WEBHOOK_RELAYS if relay else metrics.WEBHOOK_DELIVERIES
        _count(series, provider, "failed" if relay else "queued")


async def pending(db: Database, older_than: datetime, limit: int = 100) -> list[uuid.UUID]:
    async with db.session() as session:
        rows = await session.execute(
            select(col(WebhookEvent.id))
            .where(col(WebhookEvent.status) == "received", col(WebhookEvent.received_at) <= older_than)
            .order_by(col(WebhookEvent.received_at))
            .limit(limit)
        )
        return [r[0] for r in rows.all()]
