"""The webhook flow's runs.

- ``WebhookRelayWorkflow``: started by the ``webhook-relay`` Schedule to deliver inbox events left behind.
- ``LatePaymentWorkflow`` (``late-payment-{order_id}``): a payment reported after its checkout closed. Money
  captured for an order that was not fulfilled is refunded automatically, through the refund flow: a child
  ``RefundWorkflow`` first asks the provider what was captured, then gives it back (or finds nothing is owed).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.refunds.contract import CaptureRefund, auto_refund_id, refund_capture
    from boxoffice.webhooks.activities import RelayActivities
    from boxoffice.webhooks.contract import LatePaymentInput, RelayInput, RelayResult


@workflow.defn(name="WebhookRelayWorkflow")
class WebhookRelayWorkflow:
    @workflow.run
    async def run(self, inp: RelayInput) -> RelayResult:
        return await workflow.execute_activity_method(
            RelayActivities.relay_webhooks,
            inp,
            start_to_close_timeout=timedelta(minutes=2),
            summary="relay_webhooks: deliver inbox events left undelivered",
        )


@workflow.defn(name="LatePaymentWorkflow")
class LatePaymentWorkflow:
    @workflow.run
    async def run(self, inp: LatePaymentInput) -> str:
        capture = CaptureRefund(order_id=inp.order_id, reason="late_payment")
        workflow.set_current_details(f"refunding a payment that arrived after order {inp.order_id}'s checkout closed")
        progress = await refund_capture(
            capture,
            poll_interval_seconds=inp.poll_interval_seconds,
            summary=f"Refund of a late payment for order {inp.order_id}",
        )
        if progress is None:
            return f"the automatic refund {auto_refund_id(inp.order_id)} is already running"
        if progress.state == "not_needed":
            return "nothing to refund: the payment did not succeed, or the order was sold with it"
        return f"refunded as {progress.refund_id} ({progress.state})"
