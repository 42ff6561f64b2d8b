"""Workflow-side: watching one order's payment from inside its checkout run.

The watch wakes on a webhook hint (a signal), on the buyer's cancel, or on the poll interval, and every time asks
the provider (``verify_payment``): webhooks are only hints. When it gives up (deadline or cancel) it first closes
the payment page where the provider can, then looks once more, so a payment that landed at the last second is
sold, not refunded, and nothing can be paid afterwards.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from boxoffice.checkout.contract import PaymentCheck, VerifyPaymentInput
    from boxoffice.checkout.payment_activities import PaymentActivities
    from boxoffice.webhooks.contract import PaymentEventSignal

# A payment check that fails is simply asked again at the next tick.
CHECK_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)
# Compensations, and steps that must happen once the order is paid: retried (visibly) until they succeed.
UNTIL_DONE = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(minutes=2), maximum_attempts=0
)
# A failed step surfaces as ActivityError (regular activities) or as the activity's ApplicationError itself
# (local activities, in this SDK); both are handled the same way.
STEP_ERRORS = (ActivityError, ApplicationError)


class PaymentWatch:
    def __init__(self) -> None:
        self.hints: list[PaymentEventSignal] = []
        self._seen: set[str] = set()
        self.cancel_requested = False
        self.payment: VerifyPaymentInput | None = None

    def hint(self, event: PaymentEventSignal) -> None:
        """A provider webhook arrived (each event once): confirm with the provider now."""
        if event.event_id not in self._seen:
            self._seen.add(event.event_id)
            self.hints.append(event)

    async def until_decided(self, deadline: datetime, poll_seconds: int) -> PaymentCheck:
        """Until ``deadline``: the provider's answer once it is not pending, or ``cancelled``/``timeout``."""
        poll = timedelta(seconds=poll_seconds)
        while (remaining := deadline - workflow.now()) > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self.hints) or self.cancel_requested, timeout=min(poll, remaining)
                )
            self.hints.clear()
            check = await self.check()
            if check is not None and check.state != "pending":
                return check
            if self.cancel_requested:
                return await self._close_and_look("cancelled")
        return await self._close_and_look("timeout")

    async def late_capture(self, until: datetime) -> PaymentCheck | None:
        """After the checkout gave up: a payment the provider confirms as captured before ``until``, if any."""
        while True:
            remaining = until - workflow.now()
            if remaining > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: bool(self.hints), timeout=remaining)
            self.hints.clear()
            check = await self.check()
            if check is not None and check.state == "succeeded":
                return check
            if remaining <= timedelta(0):
                return None

    async def check(self) -> PaymentCheck | None:
        """The provider's answer now, or None while it is unreachable (the next tick asks again)."""
        assert self.payment is not None
        try:
            return await workflow.execute_local_activity_method(
                PaymentActivities.verify_payment,
                self.payment,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=CHECK_RETRY,
            )
        except STEP_ERRORS:
            return None

    async def _close_and_look(self, giving_up_as: str) -> PaymentCheck:
        assert self.payment is not None
        await workflow.execute_local_activity_method(
            PaymentActivities.expire_payment,
            self.payment.order_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=UNTIL_DONE,
        )
        check = await self.check()
        if check is not None and check.state == "succeeded":
            return check
        # "expired" here is usually our own doing (we just closed the page): the reason stays ours.
        keep_ours = giving_up_as == "cancelled" or check is None or check.state in ("pending", "expired")
        return PaymentCheck(state=giving_up_as if keep_ours or check is None else check.state)
