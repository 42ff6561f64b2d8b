"""Checkouts and orders."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from boxoffice.api import checkouts
from boxoffice.api.deps import BuyerUser, CurrentUser, DbDep, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.schemas import CheckoutIn, CheckoutOut
from boxoffice.errors import Conflict, NotFound
from boxoffice.messages import CancelResult, checkout_workflow_id
from boxoffice.models import Order
from boxoffice.services import order_views

router = APIRouter(prefix="/v1", tags=["checkout"])
TERMINAL = {"fulfilled", "cancelled", "refunded"}
# A watching buyer sees a change within this (one primary-key read per poll and connection).
SSE_POLL_SECONDS = 0.1
SSE_MAX_SECONDS = 30 * 60


@router.post("/checkouts", status_code=201, response_model=CheckoutOut)
async def create_checkout(
    request: Request,
    body: CheckoutIn,
    who: BuyerUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    return await checkouts.create_checkout(
        session, client, settings, request.app.state.providers, who, body.model_dump(mode="json"), idempotency_key
    )


@router.get("/orders")
async def list_orders(
    who: CurrentUser,
    session: SessionDep,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: str | None = None,
) -> list[dict[str, Any]]:
    await db.snapshot(session)
    orders = await order_views.list_orders(session, who, limit=limit, offset=offset, status=status)
    return [await order_views.order_view(session, o) for o in orders]


@router.get("/orders/{order_id}")
async def get_order(order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep) -> dict[str, Any]:
    await db.snapshot(session)
    return await order_views.order_view(session, await order_views.get_visible_order(session, who, order_id))


@router.get("/orders/{order_id}/events")
async def order_events(order_id: uuid.UUID, who: CurrentUser, session: SessionDep, db: DbDep) -> EventSourceResponse:
    """Server-sent events: one ``status`` event per change of status, payment or fulfilment, until it settles."""
    await order_views.get_visible_order(session, who, order_id)
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
                yield {
                    "event": "status",
                    "data": json.dumps(
                        {
                            "order_id": str(order_id),
                            "status": now[0],
                            "payment_status": now[1],
                            "fulfillment_status": now[2],
                        }
                    ),
                }
                if now[0] in TERMINAL:
                    return
            await asyncio.sleep(SSE_POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)


@router.post("/orders/{order_id}/cancel")
async def cancel_order(
    order_id: uuid.UUID, who: BuyerUser, session: SessionDep, client: TemporalClientDep
) -> dict[str, Any]:
    order = await order_views.get_visible_order(session, who, order_id)
    if order.status != "pending":
        raise Conflict(f"the order is {order.status}", code="order_not_cancellable", status_now=order.status)
    await session.rollback()
    try:
        result: CancelResult = await client.get_workflow_handle(checkout_workflow_id(str(order_id))).execute_update(
            "cancel", result_type=CancelResult
        )
    except (WorkflowUpdateFailedError, RPCError) as exc:
        raise Conflict(f"the order can no longer be cancelled: {exc}", code="order_not_cancellable") from None
    if not result.cancelled:
        raise Conflict(
            f"the order is {result.status}: the payment went through first",
            code="order_not_cancellable",
            status_now=result.status,
        )
    session.expire_all()
    return await order_views.order_view(session, await order_views.get_visible_order(session, who, order_id))


@router.get("/orders/{order_id}/tickets.pdf")
async def order_pdf(order_id: uuid.UUID, who: CurrentUser, session: SessionDep, request: Request) -> Response:
    from boxoffice.activities.documents import pdf_key, render_pdf

    order = await order_views.get_visible_order(session, who, order_id)
    if order.status not in ("paid", "fulfilled"):
        raise NotFound("this order has no tickets", code="no_tickets")
    data = await request.app.state.storage.get(pdf_key(str(order_id)))
    if data is None:
        data = await render_pdf(request.app.state.db, str(order_id))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{order_id}.pdf"'},
    )
