"""Checkouts and orders: ``POST /v1/checkouts``, the buyer's and organiser's order views, live status, cancel."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette.sse import EventSourceResponse
from temporalio.client import Client

from boxoffice.access import get_visible_order
from boxoffice.api.deps import AdminUser, BuyerUser, CurrentUser, DbDep, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.auth import Principal
from boxoffice.checkout import requests, views
from boxoffice.checkout.client import cancel_checkout, recheck_payment
from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.checkout.schemas import CheckoutIn, CheckoutOut, PaymentCheckOut
from boxoffice.checkout.views import OrderOut
from boxoffice.config import Settings
from boxoffice.errors import Conflict, ServiceUnavailable
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.gate.voids import mark_notified
from boxoffice.logging import get_logger
from boxoffice.models import Order, Refund
from boxoffice.models.states import OrderStatus, RefundStatus
from boxoffice.models.types import utcnow
from boxoffice.refunds import policy
from boxoffice.refunds.client import labels, start_refund
from boxoffice.refunds.contract import refund_workflow_id

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["checkout"])
TERMINAL = {OrderStatus.FULFILLED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}
# A watching buyer sees a change within this (one primary-key read per poll and connection).
SSE_POLL_SECONDS = 0.1
SSE_MAX_SECONDS = 30 * 60
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "One `status` event per change, until settled"}
}


@router.post(
    "/checkouts", status_code=201, response_model=CheckoutOut, responses=responses(401, 403, 404, 409, 422, 502, 503)
)
async def create_checkout(
    request: Request,
    body: CheckoutIn,
    who: BuyerUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    idempotency_key: Annotated[Text | None, Header(max_length=255)] = None,
) -> CheckoutOut:
    providers = request.app.state.providers
    return await requests.create_checkout(session, client, settings, providers, who, body, idempotency_key)


@router.get("/orders", response_model=list[OrderOut], responses=responses(401, 422))
async def list_orders(
    who: CurrentUser,
    session: SessionDep,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
    status: Annotated[Text | None, Query(max_length=32)] = None,
    email: Annotated[Text | None, Query(max_length=320, description="only orders whose buyer has this e-mail")] = None,
) -> list[OrderOut]:
    await db.snapshot(session)
    orders = await views.list_orders(session, who, limit=limit, offset=offset, status=status, email=email)
    return [await views.order_view(session, o) for o in orders]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=responses(401, 404, 422))
async def get_order(order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep) -> OrderOut:
    await db.snapshot(session)
    return await views.order_view(session, await get_visible_order(session, who, order_id))


@router.get("/orders/{order_id}/events", response_class=EventSourceResponse, responses={**SSE, **responses(401, 404)})
async def order_events(order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep) -> EventSourceResponse:
    """Server-sent events: one ``status`` event per change of status, payment or fulfilment, until it settles."""
    await get_visible_order(session, who, order_id)
    await session.close()

    async def stream() -> AsyncIterator[dict[str, str]]:
        last: tuple[str, str, str] | None = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SSE_MAX_SECONDS  # clients reconnect
        while loop.time() < deadline:
            async with db.session() as s:
                o = await s.get(Order, order_id)
                assert o is not None
                now = (o.status, o.payment_status, o.fulfillment_status)
            if now != last:
                last = now
                data = {"order_id": str(order_id), "status": now[0], "payment_status": now[1]}
                yield {"event": "status", "data": json.dumps({**data, "fulfillment_status": now[2]})}
                if now[0] in TERMINAL:
                    return
            await asyncio.sleep(SSE_POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)


class BuyerRefundOut(BaseModel):
    """The refund a buyer's cancellation of a paid order started (issue 13): everything paid but ``fee_kept_cents``."""

    refund_id: uuid.UUID
    status: str
    amount: int
    fee_kept_cents: int
    currency: str
    workflow_id: str


class CancelOut(OrderOut):
    """The order after the cancel; for a paid order, the ``refund`` its cancellation started."""

    refund: BuyerRefundOut | None = None


CANCELLED_PAID: dict[int | str, dict[str, Any]] = {
    202: {"model": CancelOut, "description": "A paid order cancelled: its refund is on its way"}
}


@router.post(
    "/orders/{order_id}/cancel",
    response_model=CancelOut,
    responses={**CANCELLED_PAID, **responses(401, 403, 404, 409, 422, 503)},
)
async def cancel_order(
    order_id: uuid.UUID,
    who: BuyerUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    response: Response,
) -> CancelOut:
    """A pending checkout is cancelled (200, once its run has decided). A paid order is cancelled under its event's
    refund policy (issue 13): 202 with the refund of everything paid but the fee kept, which the refund flow pays out;
    a free order's tickets are voided at once (200). Past the policy's deadline: 409 ``cancellation_deadline_passed``.
    """
    order = await get_visible_order(session, who, order_id)
    if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED):
        return await _cancel_paid(order, who, session, settings, client, response)
    if order.status != OrderStatus.PENDING:
        raise Conflict(f"the order is {order.status}", code="order_not_cancellable", status_now=order.status)
    await session.rollback()
    result = await cancel_checkout(client, str(order_id))
    if not result.cancelled:
        raise Conflict(
            f"the order is {result.status}: the payment went through first",
            code="order_not_cancellable",
            status_now=result.status,
        )
    session.expire_all()
    return CancelOut(**dict(await views.order_view(session, await get_visible_order(session, who, order_id))))


async def _cancel_paid(
    order: Order, who: Principal, session: AsyncSession, settings: Settings, client: Client, response: Response
) -> CancelOut:
    order_id = order.id
    done = await policy.cancel_paid_order(session, who, order_id, utcnow())
    searchable, voided = labels(order), [v.ticket_id for v in done.voids]
    out = None if done.refund is None else _refund_out(done.refund)
    await session.commit()
    if out is not None:
        response.status_code = 202
        if out.status != RefundStatus.SUCCEEDED:
            try:
                await start_refund(
                    client,
                    str(out.refund_id),
                    searchable,
                    task_queue=settings.checkout_task_queue,
                    poll_interval_seconds=settings.payment_poll_interval_seconds,
                )
            except Exception as exc:  # the refund is recorded: a repeat of the request starts it
                raise ServiceUnavailable(
                    "the cancellation is recorded but its refund could not start; repeat the request to start it",
                    code="refund_not_started",
                    refund_id=str(out.refund_id),
                ) from exc
    elif voided:
        message = MessageInput(
            kind="cancellation", order_id=str(order_id), key=str(order_id), reason=policy.FREE_ORDER_REASON
        )
        try:
            await send_message(client, message, task_queue=settings.documents_task_queue)
            async with session.begin():
                await mark_notified(session, voided, utcnow())
        except Exception:  # the check-in sweep tells the buyer ticket by ticket instead
            log.warning("cancellation message not started", order_id=str(order_id))
    session.expire_all()
    view = await views.order_view(session, await get_visible_order(session, who, order_id))
    return CancelOut(**dict(view), refund=out)


def _refund_out(refund: Refund) -> BuyerRefundOut:
    return BuyerRefundOut(
        refund_id=refund.id,
        status=refund.status,
        amount=refund.amount,
        fee_kept_cents=refund.fee_kept_cents,
        currency=refund.currency,
        workflow_id=refund_workflow_id(str(refund.id)),
    )


# --- operations (issue 11) ---------------------------------------------------------------------------------------


@router.post(
    "/orders/{order_id}/payment-check",
    status_code=202,
    response_model=PaymentCheckOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
async def check_payment(
    order_id: uuid.UUID, who: AdminUser, session: SessionDep, client: TemporalClientDep
) -> PaymentCheckOut:
    """Ask the order's checkout run to check its payment with the provider now, as a webhook would (a buyer says
    they paid and nothing moved). The run decides as always: this never marks an order paid by itself, and the
    order's own status tells the outcome. 409 ``checkout_closed`` once the run has ended."""
    status = (await get_visible_order(session, who, order_id)).status
    await session.rollback()  # nothing to write; release the connection before waiting on Temporal
    request_id = await recheck_payment(client, str(order_id), requested_by=who.user_id)
    return PaymentCheckOut(
        order_id=order_id,
        request_id=uuid.UUID(request_id),
        workflow_id=checkout_workflow_id(str(order_id)),
        status=status,
    )
