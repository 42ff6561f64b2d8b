"""Workflow-side: watching one order's payment from inside its checkout run, and the run's progress as operators
read it (``Progress``: the step, what it waits for and until when, the compensations registered and done).

The watch wakes on a webhook hint (a signal), on the buyer's cancel, or on the poll interval, and every time asks
the provider (``verify_payment``): webhooks are only hints. When it gives up (deadline or cancel) it first closes
the payment page where the provider can, then looks once more, so a payment that landed at the last second is
sold, not refunded, and nothing can be paid afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from boxoffice.checkout.contract import CheckoutStatus, PaymentCheck, VerifyPaymentInput
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
        self.checks = 0  # how often the provider was asked (for the status query)
        self.last_state: str | None = None  # its last answer

    def hint(self, event: PaymentEventSignal) -> None:
        """A provider webhook arrived (each event once): confirm with the provider now."""
        if event.event_id not in self._seen:
            self._seen.add(event.event_id)
            self.hints.append(event)

    def recheck(self, request_id: str) -> None:
        """An operator asks for a check now: the same wake-up as a webhook hint (each request once)."""
        provider = self.payment.provider if self.payment else ""
        self.hint(PaymentEventSignal(provider=provider, event_id=f"recheck:{request_id}", kind="operator_recheck"))

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
        self.checks += 1
        try:
            check: PaymentCheck = await workflow.execute_local_activity_method(
                PaymentActivities.verify_payment,
                self.payment,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=CHECK_RETRY,
                summary=f"verify_payment: ask {self.payment.provider} about order {self.payment.order_id}"
                f" (check {self.checks})",
            )
        except STEP_ERRORS:
            self.last_state = "unreachable"
            return None
        self.last_state = check.state
        return check

    async def _close_and_look(self, giving_up_as: str) -> PaymentCheck:
        assert self.payment is not None
        await workflow.execute_local_activity_method(
            PaymentActivities.expire_payment,
            self.payment.order_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=UNTIL_DONE,
            summary=f"expire_payment: close the payment page of order {self.payment.order_id} ({giving_up_as})",
        )
        check = await self.check()
        if check is not None and check.state == "succeeded":
            return check
        # "expired" here is usually our own doing (we just closed the page): the reason stays ours.
        keep_ours = giving_up_as == "cancelled" or check is None or check.state in ("pending", "expired")
        return PaymentCheck(state=giving_up_as if keep_ours or check is None else check.state)


# --- progress, for operators (issue 11) -------------------------------------------------------------------------

STEP_NOTES = {
    "claiming_holds": "Claiming the holds and creating the order (open_order).",
    "initiating_payment": "Opening the provider's payment page (initiate_payment).",
    "issuing_tickets": "Payment confirmed; issuing the tickets (complete_order).",
    "compensating": "Undoing the checkout (release holds, cancel the order, refund what was captured).",
}


class Compensation(NamedTuple):
    """An undo step registered before the step it undoes: its name (for operators) and how to run it."""

    name: str
    run: Callable[[], Awaitable[Any]]


class Progress:
    """What the checkout run is doing, kept for its ``status`` query and written to its current details (the UI's
    run page). Only ids, amounts, times and reasons go into it, never personal data."""

    def __init__(self) -> None:
        self.step: str | None = None  # the step (local activity) running now
        self.waiting_for: str | None = None
        self.deadline: datetime | None = None
        self.payment_deadline: datetime | None = None
        self.late_until: datetime | None = None
        self.registered: list[str] = []
        self.undone: list[str] = []
        self.rechecks = 0

    def register(self, compensations: list[Compensation], name: str, run: Callable[[], Awaitable[Any]]) -> None:
        """Register an undo step before the step it undoes."""
        compensations.append(Compensation(name, run))
        self.registered.append(name)

    def undid(self, name: str, reason: str | None) -> None:
        self.undone.append(name)
        self.note(f"Compensating ({reason}): done {', '.join(self.undone)}.")

    def entered(self, status: str) -> None:
        """The saga moved to ``status`` (``BoxofficeCheckoutStatus``)."""
        if status in STEP_NOTES:
            self.note(STEP_NOTES[status])

    def wait(self, what: str | None, until: datetime | None = None, text: str = "", poll: int | None = None) -> None:
        """Record what the run waits for (None: nothing any more) and say so in its current details."""
        self.waiting_for, self.deadline = what, until
        if what is None:
            return
        line = f"Waiting for {text}"
        if until is not None:
            line += f" until {until.isoformat(timespec='seconds')}"
        if poll:
            line += f"; asking the provider every {poll} s and on each webhook or operator re-check"
        self.note(line + ".")

    @staticmethod
    def note(text: str) -> None:
        workflow.set_current_details(text)

    def status(
        self, order_id: str, status: str, payment_url: str | None, reason: str | None, watch: PaymentWatch
    ) -> CheckoutStatus:
        return CheckoutStatus(
            order_id=order_id,
            status=status,
            payment_url=payment_url,
            cancelled_reason=reason,
            step=self.step,
            waiting_for=self.waiting_for,
            deadline=_iso(self.deadline),
            payment_deadline=_iso(self.payment_deadline),
            late_payment_until=_iso(self.late_until),
            payment_checks=watch.checks,
            last_payment_state=watch.last_state,
            rechecks_requested=self.rechecks,
            compensations_registered=list(self.registered),
            compensations_done=list(self.undone),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
