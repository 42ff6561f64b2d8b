"""The fulfilment flow's runs (task queue ``boxoffice-documents``).

``FulfillmentWorkflow`` (``fulfillment-{order_id}``): PDF, the confirmation message, delivered.
``MessageWorkflow`` (``message-{kind}-{key}``): one message to a buyer about one cause (a refund, a cancellation,
a void, the tickets sent again), after re-rendering the order's PDF when its tickets changed.

Every step is a local activity: a fulfilment costs the server one workflow task instead of four. The PDF renders
in the documents worker's renderer process; the step only waits for it. Retries never give up (an SMTP outage
delays e-mail, it does not lose it); past a minute, the SDK waits out the backoff on a durable timer. A message
is sent once per cause: ``send_message`` skips a cause whose sent-marker exists, and a marker it could not write
is written by a step of its own, so the message is not sent again for that.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from boxoffice.fulfilment.activities import MAIL_REFUSED, DocumentActivities
    from boxoffice.fulfilment.contract import FulfillmentInput, FulfillmentResult, MessageInput, MessageResult

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5), maximum_attempts=0)
# The confirmation became a message step (send_message, sent once per cause); runs started before take email_tickets.
CONFIRMATION_MESSAGE_PATCH = "confirmation-as-message"


async def _send(inp: MessageInput) -> MessageResult:
    """Send the message once for its cause, and make sure its sent-marker is written."""
    workflow.set_current_details(f"sending the {inp.kind} message of order {inp.order_id} (retried until it goes)")
    result: MessageResult = await workflow.execute_local_activity_method(
        DocumentActivities.send_message,
        inp,
        start_to_close_timeout=timedelta(minutes=1),
        retry_policy=RETRY,
        summary=f"send_message: {inp.kind} of order {inp.order_id}",
    )
    if result.status == "sent" and not result.recorded:
        await workflow.execute_local_activity_method(
            DocumentActivities.record_message_sent,
            result,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"record_message_sent: {inp.kind} of order {inp.order_id}",
        )
    return result


async def _render(order_id: str) -> str | None:
    workflow.set_current_details(f"rendering the tickets PDF of order {order_id}")
    location: str | None = await workflow.execute_local_activity_method(
        DocumentActivities.render_ticket_pdf,
        order_id,
        start_to_close_timeout=timedelta(minutes=2),
        retry_policy=RETRY,
        summary=f"render_ticket_pdf: order {order_id}",
    )
    return location


def _refused(err: ActivityError) -> bool:
    return isinstance(err.cause, ApplicationError) and err.cause.type == MAIL_REFUSED


@workflow.defn(name="FulfillmentWorkflow")
class FulfillmentWorkflow:
    @workflow.run
    async def run(self, inp: FulfillmentInput) -> FulfillmentResult:
        location = await _render(inp.order_id)
        sent_to: str | None
        if workflow.patched(CONFIRMATION_MESSAGE_PATCH):
            try:
                sent = await _send(MessageInput(kind="confirmation", order_id=inp.order_id, key=inp.order_id))
                sent_to = sent.recipient
            except ActivityError as err:
                if not _refused(err):
                    raise
                # The mail server refuses the address for good: the tickets stay downloadable (tickets.pdf).
                workflow.logger.warning("the confirmation was refused by the mail server: %s", err.cause)
                sent_to = None
        else:
            sent_to = await workflow.execute_local_activity_method(
                DocumentActivities.email_tickets,
                inp.order_id,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
                summary=f"email_tickets: order {inp.order_id}",
            )
        result = FulfillmentResult(order_id=inp.order_id, pdf_location=location, emailed_to=sent_to)
        await workflow.execute_local_activity_method(
            DocumentActivities.mark_fulfilled,
            result,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"mark_fulfilled: order {inp.order_id}",
        )
        workflow.set_current_details(f"fulfilled: the tickets of order {inp.order_id} are stored and sent")
        return result


@workflow.defn(name="MessageWorkflow")
class MessageWorkflow:
    @workflow.run
    async def run(self, inp: MessageInput) -> MessageResult:
        if inp.refresh_pdf:
            # The tickets changed (refunded, voided, renamed): the stored PDF shows them as they are now.
            await _render(inp.order_id)
        return await _send(inp)
