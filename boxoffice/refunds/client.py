"""Starting refund runs from the API (the only place that knows how a requested refund's workflow starts)."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.checkout.contract import SA_EVENT_ID, SA_ORDER_ID, SA_ORGANIZATION_ID
from boxoffice.codec import clear_text
from boxoffice.models import Order
from boxoffice.refunds.contract import REFUND_WORKFLOW, RefundInput, refund_workflow_id


def labels(order: Order) -> TypedSearchAttributes:
    """What operators filter refund runs by in the Temporal UI."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_ORDER_ID, str(order.id)),
            SearchAttributePair(SA_EVENT_ID, str(order.event_id)),
            SearchAttributePair(SA_ORGANIZATION_ID, order.organization_id),
        ]
    )


async def start_refund(
    client: Client, refund_id: str, searchable: TypedSearchAttributes, *, task_queue: str, poll_interval_seconds: int
) -> None:
    """Start ``refund-{refund_id}``, or leave the running (or finished) one alone."""
    # WorkflowAlreadyStartedError: it ran to completion before, so the refund is settled.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            REFUND_WORKFLOW,
            RefundInput(refund_id=refund_id, poll_interval_seconds=poll_interval_seconds),
            id=refund_workflow_id(refund_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=searchable,
            static_summary=clear_text(f"Refund {refund_id} of order {searchable.get(SA_ORDER_ID) or '?'}"),  # issue 11
        )
