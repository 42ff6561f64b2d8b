"""Organiser refunds: ``POST /v1/orders/{id}/refunds`` records the refund and starts ``refund-{refund_id}``."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.api.deps import AdminUser, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.config import Settings
from boxoffice.errors import ServiceUnavailable
from boxoffice.messages import refund_workflow_id
from boxoffice.models import Order, Refund
from boxoffice.models.types import utcnow
from boxoffice.services import refund_requests
from boxoffice.temporal import SA_EVENT_ID, SA_ORDER_ID, SA_ORGANIZATION_ID
from boxoffice.workflows.refund import RefundInput, RefundWorkflow

router = APIRouter(prefix="/v1", tags=["refunds"])


class RefundIn(BaseModel):
    ticket_ids: list[str] | None = Field(default=None, max_length=500, description="all live tickets when absent")
    reason: str | None = Field(default=None, max_length=500)


def view(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": str(refund.id),
        "order_id": str(refund.order_id),
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "ticket_ids": refund.ticket_ids,
        "reason": refund.reason,
        "kind": refund.kind,
        "provider_refund_id": refund.provider_refund_id,
        "provider_failures": refund.provider_failures,
        "failure_reason": refund.failure_reason,
        "created_at": refund.created_at.isoformat(),
        "workflow_id": refund_workflow_id(str(refund.id)),
    }


def _labels(order: Order) -> TypedSearchAttributes:
    """What operators filter refund runs by in the Temporal UI."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_ORDER_ID, str(order.id)),
            SearchAttributePair(SA_EVENT_ID, str(order.event_id)),
            SearchAttributePair(SA_ORGANIZATION_ID, order.organization_id),
        ]
    )


async def start_refund(client: Client, settings: Settings, refund_id: str, labels: TypedSearchAttributes) -> None:
    """Start ``refund-{refund_id}``, or leave the running (or finished) one alone."""
    # WorkflowAlreadyStartedError: it ran to completion before, so the refund is settled.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            RefundWorkflow.run,
            RefundInput(refund_id=refund_id, poll_interval_seconds=settings.payment_poll_interval_seconds),
            id=refund_workflow_id(refund_id),
            task_queue=settings.checkout_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=labels,
        )


@router.post("/orders/{order_id}/refunds", status_code=202)
async def request_refund(
    order_id: uuid.UUID,
    body: RefundIn,
    who: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """202 once the refund is recorded and its workflow started; the provider's confirmation settles it later.
    A repeat with the same Idempotency-Key returns the same refund."""
    try:
        refund = await refund_requests.request_refund(
            session,
            who,
            order_id,
            ticket_ids=body.ticket_ids,
            reason=body.reason,
            refund_id=refund_requests.refund_id_for(order_id, idempotency_key),
            now=utcnow(),
        )
    except refund_requests.RefundInProgress as exc:
        # Self-healing: if that refund's workflow never started (Temporal was down), start it now.
        order = await session.get(Order, order_id)
        labels = _labels(order) if order is not None else None
        await session.rollback()
        if labels is not None:
            await start_refund(client, settings, str(exc.extra["refund_id"]), labels)
        raise
    order = await session.get(Order, order_id)
    assert order is not None
    result, labels = view(refund), _labels(order)
    await session.commit()
    try:
        await start_refund(client, settings, result["refund_id"], labels)
    except Exception as exc:
        raise ServiceUnavailable(
            "the refund is recorded but its workflow could not start; repeat the request to start it",
            code="refund_not_started",
            refund_id=result["refund_id"],
        ) from exc
    return result


@router.get("/orders/{order_id}/refunds")
async def list_refunds(order_id: uuid.UUID, who: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """The order's refunds, oldest first."""
    return [view(r) for r in await refund_requests.list_refunds(session, who, order_id)]
