"""Workflow-side helper shared by the checkout and late-payment runs: see an automatic refund through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.activities.payments import PaymentActivities
    from boxoffice.messages import RefundOutcome

# Money owed back is never given up on: retried (visibly, as activity attempts in the UI) until it succeeds.
FOREVER = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(minutes=2), maximum_attempts=0
)


async def refund_until_confirmed(refund_id: str, poll_interval_seconds: int) -> RefundOutcome:
    """Send the refund, then re-read it until the provider confirms; a refund the provider fails is sent again
    (under a new idempotency key, see ``execute_refund``)."""

    async def run(fn: Callable[[PaymentActivities, str], Awaitable[RefundOutcome]]) -> RefundOutcome:
        return await workflow.execute_activity_method(
            fn, refund_id, start_to_close_timeout=timedelta(seconds=60), retry_policy=FOREVER
        )

    outcome = await run(PaymentActivities.execute_refund)
    while outcome.state != "succeeded":
        await workflow.sleep(timedelta(seconds=poll_interval_seconds))
        outcome = await run(PaymentActivities.check_refund)
        if outcome.state == "failed":
            outcome = await run(PaymentActivities.execute_refund)
    return outcome
