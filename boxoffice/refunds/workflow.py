"""RefundWorkflow (``refund-{refund_id}``): every refund, from the provider request to settled books.

The one refund protocol: an organiser's refund (started by the API) and an automatic one (a child of a checkout or
late-payment run that must give captured money back, whose first step records it: see ``refunds.contract``).

Steps: send the refund to the provider (idempotency key derived from the refund and its failure count) → wait
for the provider's confirmation (webhook hint signal, or a poll every ``poll_interval_seconds``) → the
``check_refund`` activity applies the confirmed outcome in one database transaction (tickets refunded, seats
back on sale, reversing journal, transaction and order statuses).

Guarantees:
- The refund is marked done only once the provider confirms it; until then the run keeps polling.
- A refund the provider refuses (at once, or later by a failure event) is recorded on the refund row, shown in
  the Temporal UI (the ``execute_refund`` attempt's failure, the run's current details and a warning log) and
  sent again under a new idempotency key, with a growing pause; it is never given up silently.
- Webhooks are only hints: every outcome is confirmed by an activity before it is applied.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from boxoffice.refunds.activities import RefundActivities
    from boxoffice.refunds.contract import QUERY_REFUND_STATUS, RefundInput, RefundOutcome, RefundProgress
    from boxoffice.webhooks.contract import SIGNAL_PAYMENT_EVENT, PaymentEventSignal

# Provider calls are retried for ever (money owed back is never dropped), backing off to one try every 10 minutes.
PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10), maximum_attempts=0
)
# A poll that fails is simply tried again at the next tick.
POLL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3
)
MAX_FAILURE_PAUSE = timedelta(hours=1)
POLLS_PER_RUN = 500  # then continue-as-new, so a refund waiting for days keeps a short history


@workflow.defn(name="RefundWorkflow")
class RefundWorkflow:
    def __init__(self) -> None:
        self._hints: list[PaymentEventSignal] = []
        self._seen: set[str] = set()
        self._progress = RefundProgress(refund_id="", state="sending")

    @workflow.signal(name=SIGNAL_PAYMENT_EVENT)
    def payment_event(self, event: PaymentEventSignal) -> None:
        """A provider refund webhook arrived (recorded in the inbox): re-check with the provider now."""
        if event.event_id not in self._seen:
            self._seen.add(event.event_id)
            self._hints.append(event)

    @workflow.query(name=QUERY_REFUND_STATUS)
    def status(self) -> RefundProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: RefundInput) -> RefundProgress:
        self._progress = RefundProgress(
            refund_id=inp.refund_id, state="pending" if inp.sent else "sending", provider_failures=inp.provider_failures
        )
        if inp.capture is not None and not inp.sent and not await self._prepare(inp):
            self._progress.state = "not_needed"
            workflow.set_current_details("nothing to refund: the payment did not succeed or the order kept it")
            return self._progress
        outcome = RefundOutcome(inp.refund_id, "pending") if inp.sent else await self._send(inp)
        polls = 0
        while outcome.state != "succeeded":
            if outcome.state == "failed":
                await self._after_failure(outcome)
                outcome = await self._send(inp)
                continue
            if polls >= POLLS_PER_RUN and not self._hints:
                workflow.continue_as_new(
                    RefundInput(
                        inp.refund_id,
                        inp.poll_interval_seconds,
                        sent=True,
                        provider_failures=self._progress.provider_failures,
                        capture=inp.capture,
                    )
                )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._hints), timeout=timedelta(seconds=inp.poll_interval_seconds)
                )
            self._hints.clear()
            polls += 1
            outcome = await self._check(inp.refund_id, outcome)
        self._update(outcome, "succeeded")
        workflow.set_current_details(f"refunded (provider refund {outcome.provider_refund_id})")
        return self._progress

    async def _prepare(self, inp: RefundInput) -> bool:
        """An automatic refund: confirm and record the capture and the refund first (or learn none is owed)."""
        self._progress.state = "preparing"
        return bool(
            await workflow.execute_activity_method(
                RefundActivities.prepare_capture_refund,
                inp,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=PROVIDER_RETRY,
                summary=f"prepare_capture_refund: confirm and record what was captured for order "
                f"{inp.capture.order_id if inp.capture else '?'}",
            )
        )

    async def _send(self, inp: RefundInput) -> RefundOutcome:
        """Send (or re-send) the refund. A refusal fails the activity attempt (visible) and is retried for ever."""
        self._progress.state = "sending"
        workflow.set_current_details(f"sending refund {inp.refund_id} to the provider")
        outcome: RefundOutcome = await workflow.execute_activity_method(
            RefundActivities.execute_refund,
            inp.refund_id,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=PROVIDER_RETRY,
            summary=f"execute_refund: send refund {inp.refund_id} (provider refusals so far: "
            f"{self._progress.provider_failures})",
        )
        self._update(outcome, outcome.state)
        if outcome.state == "pending":
            workflow.set_current_details(
                f"waiting for the provider to confirm refund {outcome.provider_refund_id}: asked every "
                f"{inp.poll_interval_seconds} s and on each webhook"
            )
        return outcome

    async def _check(self, refund_id: str, last: RefundOutcome) -> RefundOutcome:
        try:
            outcome: RefundOutcome = await workflow.execute_activity_method(
                RefundActivities.check_refund,
                refund_id,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=POLL_RETRY,
                summary=f"check_refund: ask the provider about refund {refund_id}",
            )
        except ActivityError as err:
            workflow.logger.warning(
                "refund check failed; polling again", extra={"refund_id": refund_id, "error": str(err.cause)}
            )
            return last
        self._update(outcome, outcome.state)
        return outcome

    async def _after_failure(self, outcome: RefundOutcome) -> None:
        """The provider reported the refund failed: make it visible, pause (growing), then send it again."""
        self._progress.provider_failures += 1
        n = self._progress.provider_failures
        message = f"provider refused refund {outcome.refund_id} ({n} time(s)): {outcome.error}; sending it again"
        workflow.logger.warning(message)
        workflow.set_current_details(message)
        await workflow.sleep(min(timedelta(seconds=2 ** min(n - 1, 12)), MAX_FAILURE_PAUSE))

    def _update(self, outcome: RefundOutcome, state: str) -> None:
        self._progress.state = state
        self._progress.provider_refund_id = outcome.provider_refund_id or self._progress.provider_refund_id
        if outcome.error:
            self._progress.last_error = outcome.error
