"""LatePaymentWorkflow (``late-payment-{order_id}``): a payment reported after its checkout closed.

Confirms with the provider; money captured for an order that was not fulfilled is refunded automatically.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.activities.payments import PaymentActivities
    from boxoffice.messages import AutoRefundInput, LatePaymentInput, VerifyPaymentInput
    from boxoffice.workflows.refunding import FOREVER, refund_until_confirmed


@workflow.defn(name="LatePaymentWorkflow")
class LatePaymentWorkflow:
    @workflow.run
    async def run(self, inp: LatePaymentInput) -> str:
        check = await workflow.execute_activity_method(
            PaymentActivities.verify_payment,
            VerifyPaymentInput(order_id=inp.order_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FOREVER,
        )
        if check.state != "succeeded" or not check.amount:
            return f"nothing to refund: payment is {check.state}"
        refund_id = await workflow.execute_activity_method(
            PaymentActivities.prepare_refund_of_capture,
            AutoRefundInput(
                order_id=inp.order_id, amount=check.amount, currency=check.currency or "", reason="late_payment"
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FOREVER,
        )
        if not refund_id:
            return "order fulfilled with this payment: nothing to refund"
        await refund_until_confirmed(refund_id, inp.poll_interval_seconds)
        return f"refunded {check.amount} {check.currency} as {refund_id}"
