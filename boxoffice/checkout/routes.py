"""Checkouts and orders: ``POST /v1/checkouts``, the buyer's and organiser's order views, live status, cancel."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from boxoffice.access import get_visible_order
from boxoffice.api.deps import BuyerUser, CurrentUser, DbDep, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.checkout import requests, views
from boxoffice.checkout.client import cancel_checkout
from boxoffice.checkout.schemas import CheckoutIn, CheckoutOut
from boxoffice.checkout.views import OrderOut
from boxoffice.errors import Conflict
from boxoffice.models import Order
from boxoffice.models.states import OrderStatus

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


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, responses=responses(401, 403, 404, 409, 422))
async def cancel_order(order_id: uuid.UUID, who: BuyerUser, session: SessionDep, client: TemporalClientDep) -> OrderOut:
    order = await get_visible_order(session, who, order_id)
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
    return await views.order_view(session, await get_visible_order(session, who, order_id))
