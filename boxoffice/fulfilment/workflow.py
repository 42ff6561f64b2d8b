"""FulfillmentWorkflow (``fulfillment-{order_id}``, task queue ``boxoffice-documents``): PDF, e-mail, delivered.

The three steps are local activities: a fulfilment costs the server one workflow task instead of four, plus
three activity tasks (each matched and recorded). The PDF renders in the documents worker's renderer process;
the step only waits for it. Retries never give up (an SMTP outage delays e-mail, it does not lose it); past a
minute, the SDK waits out the backoff on a durable timer.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.fulfilment.activities import DocumentActivities
    from boxoffice.fulfilment.contract import FulfillmentInput, FulfillmentResult

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5), maximum_attempts=0)


@workflow.defn(name="FulfillmentWorkflow")
class FulfillmentWorkflow:
    @workflow.run
    async def run(self, inp: FulfillmentInput) -> FulfillmentResult:
        location = await workflow.execute_local_activity_method(
            DocumentActivities.render_ticket_pdf,
            inp.order_id,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RETRY,
        )
        sent_to = await workflow.execute_local_activity_method(
            DocumentActivities.email_tickets,
            inp.order_id,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        result = FulfillmentResult(order_id=inp.order_id, pdf_location=location, emailed_to=sent_to)
        await workflow.execute_local_activity_method(
            DocumentActivities.mark_fulfilled, result, start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY
        )
        return result
