"""The checkout's client side: starting a checkout (update-with-start), cancelling one, and mapping their
failures to the API's problems. The only place that knows how checkout runs are started and messaged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.checkout.contract import (
    CHECKOUT_WORKFLOW,
    SA_CHECKOUT_STATUS,
    SA_EVENT_ID,
    SA_ORDER_ID,
    SA_ORGANIZATION_ID,
    SIGNAL_RECHECK_PAYMENT,
    UPDATE_CANCEL,
    UPDATE_PAYMENT_SESSION,
    CancelResult,
    CheckoutInput,
    OrderSummary,
    PaymentRecheck,
    checkout_workflow_id,
)
from boxoffice.codec import clear_text, mask_email
from boxoffice.errors import Conflict
from boxoffice.failures import problem_from_failure
from boxoffice.money import format_money


@dataclass(frozen=True)
class RunLabel:
    """What the run's static summary and details show operators (issue 11): the buyer's e-mail only masked."""

    event_name: str
    buyer_email: str
    total_amount: int
    currency: str
    attendees: int = 0

    def summary(self, inp: CheckoutInput) -> str:
        """``Order <id> · a***@e***.org · ZAR 150.00``"""
        total = format_money(self.total_amount, self.currency) if self.total_amount else "free"
        return clear_text(f"Order {inp.order_id} · {mask_email(self.buyer_email)} · {total}")

    def details(self, inp: CheckoutInput) -> str:
        """Markdown for the UI's run page: what was bought, how it is paid, how long it waits, what operators can do."""
        total = format_money(self.total_amount, self.currency)
        return clear_text(
            "\n".join(
                [
                    f"**Checkout** of order `{inp.order_id}` for *{self.event_name}* (event `{inp.event_id}`)",
                    f"- buyer `{inp.user_id}` ({mask_email(self.buyer_email)}), {self.attendees or 'no'} attendee"
                    f" name(s); holds {', '.join(f'`{h}`' for h in inp.hold_ids)}",
                    f"- {total} through `{inp.provider}`; payment window {inp.payment_window_seconds} s (never"
                    f" beyond the holds), provider polled every {inp.poll_interval_seconds} s; late payments refunded"
                    f" for {inp.late_payment_grace_seconds} s after a cancel",
                    "- the `status` query says what it waits for and what it undid; `POST /v1/orders/{id}/"
                    "payment-check` asks the provider now; *Cancel* unwinds it, never *Terminate*",
                ]
            )
        )


async def start_checkout(
    client: Client, inp: CheckoutInput, *, task_queue: str, label: RunLabel | None = None
) -> OrderSummary:
    """Start the checkout and wait, in the same call, for its payment page (update-with-start).

    A repeat for the same order id (same Idempotency-Key) attaches to the running checkout instead of
    starting another; a closed one is refused by the id-reuse policy (the caller reads the order instead).
    Raises ``BoxofficeError`` with the checkout's own problem when it fails before its payment page.
    ``label`` gives the run its static summary and details in the Temporal UI.
    """
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        CHECKOUT_WORKFLOW,
        inp,
        id=checkout_workflow_id(inp.order_id),
        task_queue=task_queue,
        static_summary=label.summary(inp) if label else None,
        static_details=label.details(inp) if label else None,
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


async def stop_checkout(client: Client, order_id: str) -> bool:
    """Stop the checkout of ``order_id`` as an operator's cancel does (issue 13: its event was cancelled): the run
    unwinds (seats released, order cancelled, money captured meanwhile refunded) and the order ends ``cancelled``
    unless it was paid first. True when the run was asked, False when it is closed (or was never started)."""
    try:
        await client.get_workflow_handle(checkout_workflow_id(order_id)).cancel()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def recheck_payment(client: Client, order_id: str, *, requested_by: str) -> str:
    """Ask the checkout run of ``order_id`` to check its payment with the provider now (a signal: the run decides
    as it always does). Returns the request id; ``Conflict`` (``checkout_closed``) when the run has ended."""
    request_id = str(uuid.uuid4())
    try:
        await client.get_workflow_handle(checkout_workflow_id(order_id)).signal(
            SIGNAL_RECHECK_PAYMENT, PaymentRecheck(request_id=request_id, requested_by=requested_by)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # closed, or never started: nothing is waiting for a payment
            raise Conflict("the checkout has ended: nothing waits for this payment", code="checkout_closed") from None
        raise
    return request_id
