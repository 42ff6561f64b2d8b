"""The webhook flow's runs.

- ``WebhookRelayWorkflow``: started by the ``webhook-relay`` Schedule to deliver inbox events left behind.
- ``LatePaymentWorkflow`` (``late-payment-{order_id}``): a payment reported after its checkout closed. Money
  captured for an order that was not fulfilled is refunded automatically, through the refund flow: a child
  ``RefundWorkflow`` first asks the provider what was captured, then gives it back (or finds nothing is owed).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.refunds.contract import (
        REFUND_WORKFLOW,
        CaptureRefund,
        RefundInput,
        RefundProgress,
        auto_refund_id,
        refund_workflow_id,
    )
    from boxoffice.webhooks.activities import RelayActivities
    from boxoffice.webhooks.contract import LatePaymentInput, RelayInput, RelayResult


@workflow.defn(name="WebhookRelayWorkflow")
class WebhookRelayWorkflow:
    @workflow.run
    async def run(self, inp: RelayInput) -> RelayResult:
        return await workflow.execute_activity_method(
            RelayActivities.relay_webhooks, inp, start_to_close_timeout=timedelta(minutes=2)
        )


@workflow.defn(name="LatePaymentWorkflow")
class LatePaymentWorkflow:
    @workflow.run
    async def run(self, inp: LatePaymentInput) -> str:
        refund_id = auto_refund_id(inp.order_id)
        try:
            progress: RefundProgress = await workflow.execute_child_workflow(
                REFUND_WORKFLOW,
                RefundInput(
                    refund_id=refund_id,
                    poll_interval_seconds=inp.poll_interval_seconds,
                    capture=CaptureRefund(order_id=inp.order_id, reason="late_payment"),
                ),
                id=refund_workflow_id(refund_id),
                result_type=RefundProgress,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return f"the automatic refund {refund_id} is already running"
        if progress.state == "not_needed":
            return "nothing to refund: the payment did not succeed, or the order was sold with it"
        return f"refunded as {refund_id} ({progress.state})"
