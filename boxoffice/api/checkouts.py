"""Starting a checkout from the API: idempotency, early refusal of bad requests, and error mapping."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from boxoffice.auth import Principal
from boxoffice.config import Settings
from boxoffice.errors import BoxofficeError, ServiceUnavailable, ValidationFailed
from boxoffice.messages import Attendee, CheckoutInput, OrderSummary, checkout_workflow_id
from boxoffice.models import Hold, Order, Transaction
from boxoffice.models.types import utcnow
from boxoffice.providers import Providers
from boxoffice.services.orders import CheckoutFailure, price_checkout
from boxoffice.starter import start_checkout

IDEMPOTENCY_NAMESPACE = uuid.UUID("9e3f6c0a-5b1d-4f7e-8a2c-1d4b6e8f0a13")
UPDATE_TIMEOUT_SECONDS = 25


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def order_id_for(who: Principal, idempotency_key: str | None) -> str:
    """With a key, the order id is derived from it, so concurrent repeats meet at the same workflow id."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{who.org_id}\x00{who.user_id}\x00{idempotency_key}"))


def response(summary: OrderSummary) -> dict[str, Any]:
    return {
        "order_id": summary.order_id,
        "status": summary.status,
        "total_amount": summary.total_amount,
        "currency": summary.currency,
        "payment_url": summary.payment_url,
        "expires_at": summary.expires_at,
        "workflow_id": checkout_workflow_id(summary.order_id),
    }


async def _existing(session: AsyncSession, order_id: str, digest: str) -> dict[str, Any] | None:
    order = await session.get(Order, uuid.UUID(order_id))
    if order is None:
        return None
    if order.request_hash != digest:
        raise ValidationFailed("this Idempotency-Key was used with a different request", code="idempotency_key_reused")
    txn = (await session.execute(select(Transaction).where(Transaction.order_id == order.id))).scalar_one_or_none()  # type: ignore[arg-type]
    return response(
        OrderSummary(
            order_id=order_id,
            status=order.status,
            total_amount=order.total_amount,
            currency=order.currency,
            reference=txn.reference if txn else "",
            expires_at=order.expires_at.isoformat(),
            payment_url=txn.payment_url if txn else None,
            request_hash=order.request_hash,
        )
    )


def _hold_problem(hold: Hold | None, hid: uuid.UUID, who: Principal, inp: CheckoutInput, now: datetime) -> None:
    """Raise the hold's own refusal (not found, expired, unavailable), if it has one."""
    if hold is None or hold.organization_id != who.org_id or hold.user_id != who.user_id:
        raise CheckoutFailure(
            "HoldNotFound", f"hold {hid} not found", code="hold_not_found", status=404, hold_id=str(hid)
        )
    if hold.status == "expired" or (hold.status == "active" and hold.expires_at <= now):
        raise CheckoutFailure("HoldExpired", f"hold {hid} has expired", code="hold_expired", hold_id=str(hid))
    if hold.status != "active" or (hold.order_id is not None and str(hold.order_id) != inp.order_id):
        raise CheckoutFailure(
            "HoldUnavailable", f"hold {hid} is {hold.status}", code="hold_unavailable", hold_id=str(hid)
        )


def _check_holds(
    ids: list[uuid.UUID], by_id: dict[uuid.UUID, Hold], who: Principal, inp: CheckoutInput, now: datetime
) -> None:
    for hid in ids:
        _hold_problem(by_id.get(hid), hid, who, inp, now)
    if len({by_id[i].event_id for i in ids}) != 1:
        raise ValidationFailed("all holds of a checkout must be for one event", code="mixed_events")


async def _precheck(session: AsyncSession, who: Principal, inp: CheckoutInput, providers: Providers) -> None:
    """Refuse what the workflow would refuse, before anything starts (the workflow re-checks atomically).

    The happy path reads the holds once, through ``price_checkout`` (holds, ticket types, event: three queries).
    When pricing refuses, the holds are checked first, so a hold's own problem (not found, expired, taken,
    mixed events) takes precedence over a price problem, as the refusals are documented.
    """
    ids = []
    for h in inp.hold_ids:
        try:
            ids.append(uuid.UUID(h))
        except ValueError:
            raise ValidationFailed(f"{h!r} is not a hold id", code="validation_error") from None
    if not ids:
        raise ValidationFailed("all holds of a checkout must be for one event", code="mixed_events")
    now = utcnow()
    try:
        event, holds, _types, quote = await price_checkout(session, inp)
    except BoxofficeError:
        found = (await session.execute(select(Hold).where(Hold.id.in_(ids)))).scalars().all()  # type: ignore[attr-defined]
        _check_holds(ids, {h.id: h for h in found}, who, inp, now)
        raise
    _check_holds(ids, {h.id: h for h in holds}, who, inp, now)
    inp.event_id = str(event.id)
    if quote.total_amount > 0:
        provider = providers.for_request(inp.provider)
        allowed = provider.capabilities.currencies
        if allowed is not None and event.currency not in allowed:
            raise ValidationFailed(f"{inp.provider} does not take {event.currency}", code="currency_unsupported")


def _problem_from_update(exc: WorkflowUpdateFailedError) -> BoxofficeError:
    cause: BaseException | None = exc.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = getattr(cause, "cause", None)
    if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
        d = cause.details[0]
        extra = {k: v for k, v in d.items() if k not in ("code", "status", "detail")}
        return BoxofficeError(
            str(d.get("detail", cause.message)),
            code=str(d.get("code", "checkout_failed")),
            status=int(d.get("status", 409)),
            **extra,
        )
    return BoxofficeError(str(cause or exc), code="checkout_failed", status=409)


async def create_checkout(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    providers: Providers,
    who: Principal,
    body: dict[str, Any],
    idempotency_key: str | None,
) -> dict[str, Any]:
    digest = request_hash(body)
    order_id = order_id_for(who, idempotency_key)
    if idempotency_key is not None and (done := await _existing(session, order_id, digest)) is not None:
        return done
    inp = CheckoutInput(
        order_id=order_id,
        organization_id=who.org_id,
        event_id="",
        user_id=who.user_id,
        hold_ids=[str(h) for h in body["hold_ids"]],
        provider=body["provider"],
        buyer_email=body["buyer"]["email"],
        buyer_name=body["buyer"]["name"],
        request_hash=digest,
        attendees=[Attendee(name=a["name"], email=a["email"]) for a in body.get("attendees") or []],
        unit_prices_cents={str(k): v for k, v in (body.get("unit_prices_cents") or {}).items()},
        tip_cents=body.get("tip_cents") or 0,
        return_url=body.get("return_url"),
        idempotency_key=idempotency_key,
        payment_window_seconds=settings.payment_window_seconds,
        poll_interval_seconds=settings.payment_poll_interval_seconds,
        late_payment_grace_seconds=settings.late_payment_grace_seconds,
        documents_task_queue=settings.documents_task_queue,
    )
    await _precheck(session, who, inp, providers)
    await session.rollback()  # nothing was changed; release the connection before waiting on Temporal
    try:
        summary = await asyncio.wait_for(
            start_checkout(client, inp, task_queue=settings.checkout_task_queue), UPDATE_TIMEOUT_SECONDS
        )
    except WorkflowUpdateFailedError as exc:
        raise _problem_from_update(exc) from None
    except WorkflowAlreadyStartedError:
        done = await _existing(session, order_id, digest)
        if done is None:
            raise
        return done
    except TimeoutError:
        raise ServiceUnavailable(
            "the checkout started but its payment page is not ready yet; read the order",
            code="checkout_pending",
            order_id=order_id,
        ) from None
    if summary.request_hash and summary.request_hash != digest:
        raise ValidationFailed("this Idempotency-Key was used with a different request", code="idempotency_key_reused")
    return response(summary)
