"""Organiser refunds: ``POST /v1/orders/{id}/refunds`` records the refund and starts ``refund-{refund_id}``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import AfterValidator, BaseModel, Field
from temporalio.common import TypedSearchAttributes

from boxoffice.api.deps import AdminUser, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Body, Text, unique
from boxoffice.errors import RefundInProgress, ServiceUnavailable
from boxoffice.models import Order, Refund
from boxoffice.models.types import utcnow
from boxoffice.refunds import requests
from boxoffice.refunds.client import labels, start_refund
from boxoffice.refunds.contract import refund_workflow_id

router = APIRouter(prefix="/v1", tags=["refunds"])


class RefundIn(Body):
    ticket_ids: Annotated[list[uuid.UUID], AfterValidator(unique)] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="all live tickets when absent",
        json_schema_extra={"uniqueItems": True},
    )
    reason: Text | None = Field(default=None, max_length=500)


class RefundOut(BaseModel):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    status: str
    amount: int
    currency: str
    ticket_ids: list[str]
    reason: str | None
    kind: str
    provider_refund_id: str | None
    provider_failures: int
    failure_reason: str | None
    created_at: datetime
    workflow_id: str

    @classmethod
    def of(cls, refund: Refund) -> RefundOut:
        return cls(
            refund_id=refund.id,
            order_id=refund.order_id,
            status=refund.status,
            amount=refund.amount,
            currency=refund.currency,
            ticket_ids=refund.ticket_ids,
            reason=refund.reason,
            kind=refund.kind,
            provider_refund_id=refund.provider_refund_id,
            provider_failures=refund.provider_failures,
            failure_reason=refund.failure_reason,
            created_at=refund.created_at,
            workflow_id=refund_workflow_id(str(refund.id)),
        )


@router.post(
    "/orders/{order_id}/refunds",
    status_code=202,
    response_model=RefundOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
async def request_refund(
    order_id: uuid.UUID,
    body: RefundIn,
    who: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    idempotency_key: Annotated[Text | None, Header(max_length=255)] = None,
) -> RefundOut:
    """202 once the refund is recorded and its workflow started; the provider's confirmation settles it later.
    A repeat with the same Idempotency-Key returns the same refund."""

    async def start(refund_id: str, searchable: TypedSearchAttributes) -> None:
        await start_refund(
            client,
            refund_id,
            searchable,
            task_queue=settings.checkout_task_queue,
            poll_interval_seconds=settings.payment_poll_interval_seconds,
        )

    try:
        refund = await requests.request_refund(
            session,
            who,
            order_id,
            ticket_ids=None if body.ticket_ids is None else [str(t) for t in body.ticket_ids],
            reason=body.reason,
            refund_id=requests.refund_id_for(order_id, idempotency_key),
            now=utcnow(),
        )
    except RefundInProgress as exc:
        # Self-healing: if that refund's workflow never started (Temporal was down), start it now.
        order = await session.get(Order, order_id)
        searchable = labels(order) if order is not None else None
        await session.rollback()
        if searchable is not None:
            await start(str(exc.extra["refund_id"]), searchable)
        raise
    order = await session.get(Order, order_id)
    assert order is not None
    result, searchable = RefundOut.of(refund), labels(order)
    await session.commit()
    try:
        await start(str(result.refund_id), searchable)
    except Exception as exc:
        raise ServiceUnavailable(
            "the refund is recorded but its workflow could not start; repeat the request to start it",
            code="refund_not_started",
            refund_id=str(result.refund_id),
        ) from exc
    return result


@router.get("/orders/{order_id}/refunds", response_model=list[RefundOut], responses=responses(401, 403, 404, 422))
async def list_refunds(order_id: uuid.UUID, who: AdminUser, session: SessionDep) -> list[RefundOut]:
    """The order's refunds, oldest first."""
    return [RefundOut.of(r) for r in await requests.list_refunds(session, who, order_id)]
