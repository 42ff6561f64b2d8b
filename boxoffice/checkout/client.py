"""The checkout's client side: starting a checkout (update-with-start), cancelling one, and mapping their
failures to the API's problems. The only place that knows how checkout runs are started and messaged."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError

from boxoffice.checkout.contract import (
    CHECKOUT_WORKFLOW,
    SA_CHECKOUT_STATUS,
    SA_EVENT_ID,
    SA_ORDER_ID,
    SA_ORGANIZATION_ID,
    UPDATE_CANCEL,
    UPDATE_PAYMENT_SESSION,
    CancelResult,
    CheckoutInput,
    OrderSummary,
    checkout_workflow_id,
)
from boxoffice.errors import Conflict
from boxoffice.failures import problem_from_failure


async def start_checkout(client: Client, inp: CheckoutInput, *, task_queue: str) -> OrderSummary:
    """Start the checkout and wait, in the same call, for its payment page (update-with-start).

    A repeat for the same order id (same Idempotency-Key) attaches to the running checkout instead of
    starting another; a closed one is refused by the id-reuse policy (the caller reads the order instead).
    Raises ``BoxofficeError`` with the checkout's own problem when it fails before its payment page.
    """
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        CHECKOUT_WORKFLOW,
        inp,
        id=checkout_workflow_id(inp.order_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_ORDER_ID, inp.order_id),
                SearchAttributePair(SA_EVENT_ID, inp.event_id),
                SearchAttributePair(SA_ORGANIZATION_ID, inp.organization_id),
                SearchAttributePair(SA_CHECKOUT_STATUS, "started"),
            ]
        ),
    )
    try:
        return await client.execute_update_with_start_workflow(
            UPDATE_PAYMENT_SESSION, start_workflow_operation=start, result_type=OrderSummary
        )
    except WorkflowUpdateFailedError as exc:
        raise problem_from_failure(exc, default_code="checkout_failed") from None


async def cancel_checkout(client: Client, order_id: str) -> CancelResult:
    """The buyer's cancel: answered once the run has decided (cancelled, or paid first)."""
    try:
        return await client.get_workflow_handle(checkout_workflow_id(order_id)).execute_update(
            UPDATE_CANCEL, result_type=CancelResult
        )
    except (WorkflowUpdateFailedError, RPCError) as exc:
        raise Conflict(f"the order can no longer be cancelled: {exc}", code="order_not_cancellable") from None
