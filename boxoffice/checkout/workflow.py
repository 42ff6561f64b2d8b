"""CheckoutWorkflow: a buyer's held seats become paid tickets, or everything is put back.

Steps (local activities: one worker round trip for the whole happy path up to the payment page):
open the order (claim the holds, create the order and its transaction: one database transaction) → initiate
payment → wait for the payment (webhook signal, polling, timeout) → complete the order (tickets, held → sold,
ledger, paid: one database transaction) → start fulfilment.

Compensations are registered *before* their step, unwind in reverse, are idempotent, retry until they succeed
and are shielded from cancellation: release holds, cancel the order (failing its transaction), and refund
money that was captured for an order that cannot be completed. After a cancellation the run stays open for a
grace period so a late payment is confirmed and refunded.

For operators (issue 11): every step carries a summary (the UI's timeline names it), the run's current details say
what it waits for and until when, and the ``status`` query adds the step, the deadlines and the compensations done.
An org admin's payment re-check (``recheck_payment``) wakes the watch exactly as a webhook hint does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

from boxoffice.checkout.payment_watch import STEP_ERRORS, UNTIL_DONE, Compensation, PaymentWatch, Progress

with workflow.unsafe.imports_passed_through():
    from boxoffice.checkout.activities import OrderActivities
    from boxoffice.checkout.contract import (
        QUERY_STATUS,
        SA_CHECKOUT_STATUS,
        SA_EVENT_ID,
        SA_ORDER_ID,
        SA_ORGANIZATION_ID,
        SIGNAL_RECHECK_PAYMENT,
        UPDATE_CANCEL,
        UPDATE_PAYMENT_SESSION,
        CancelOrderInput,
        CancelResult,
        CheckoutInput,
        CheckoutResult,
        CheckoutStatus,
        CompleteOrderInput,
        InitiatePaymentInput,
        OpenOrderInput,
        OpenOrderResult,
        OrderSummary,
        PaymentCheck,
        PaymentRecheck,
        VerifyPaymentInput,
    )
    from boxoffice.checkout.contract import CheckoutErrors as E
    from boxoffice.checkout.payment_activities import PaymentActivities
    from boxoffice.refunds.contract import CaptureRefund, refund_capture
    from boxoffice.webhooks.contract import SIGNAL_PAYMENT_EVENT, PaymentEventSignal

# Forward steps give up after a while (then the saga unwinds); compensations never do.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10), maximum_attempts=8
)


class CheckoutAborted(Exception):
    """The checkout ends without a sale for a business reason (declined, timed out, cancelled…)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@workflow.defn(name="CheckoutWorkflow")
class CheckoutWorkflow:
    def __init__(self) -> None:
        self._status = "started"
        self._summary: OrderSummary | None = None
        self._session_ready = False
        self._failure: ApplicationError | None = None
        self._watch = PaymentWatch()
        self._decided = False
        self._reason: str | None = None
        self._progress = Progress()  # issue 11: what the status query and the current details show

    # --- messages -------------------------------------------------------------------------------------

    @workflow.signal(name=SIGNAL_PAYMENT_EVENT)
    def payment_event(self, event: PaymentEventSignal) -> None:
        """A provider webhook arrived: a hint to confirm the payment with the provider now."""
        self._watch.hint(event)

    @workflow.signal(name=SIGNAL_RECHECK_PAYMENT)
    def recheck_payment(self, request: PaymentRecheck) -> None:
        """An org admin asks for a payment check now: woken like a webhook hint, the run asks the provider and
        decides as it always does (a recheck never marks anything paid by itself)."""
        self._progress.rechecks += 1
        self._watch.recheck(request.request_id)

    @workflow.update(name=UPDATE_PAYMENT_SESSION)
    async def payment_session(self) -> OrderSummary:
        """Returns once the payment page exists (or the order is free); raises the checkout's failure."""
        await workflow.wait_condition(lambda: self._session_ready)
        if self._summary is None or (
            self._failure is not None and self._summary.payment_url is None and self._summary.total_amount > 0
        ):
            f = self._failure
            if f is None:
                raise ApplicationError(f"checkout failed: {self._reason}", type="CheckoutFailed")
            raise ApplicationError(f.message, *f.details, type=f.type, non_retryable=True)
        return OrderSummary(**{**self._summary.__dict__, "status": self._order_status()})

    @workflow.update(name=UPDATE_CANCEL)
    async def cancel(self) -> CancelResult:
        """The buyer cancels. Returns once decided: cancelled, or not (the payment went through first)."""
        self._watch.cancel_requested = True
        await workflow.wait_condition(lambda: self._decided)
        return CancelResult(status=self._order_status(), cancelled=self._status == "cancelled")

    @cancel.validator
    def _validate_cancel(self) -> None:
        if self._decided:
            raise ApplicationError(f"the checkout is already {self._order_status()}", type=E.NOT_CANCELLABLE)

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> CheckoutStatus:
        """The saga's status and step, what it waits for and until when, and the compensations done."""
        summary = self._summary
        return self._progress.status(
            summary.order_id if summary else "",
            self._status,
            summary.payment_url if summary else None,
            self._reason,
            self._watch,
        )

    # --- the saga -------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CheckoutInput) -> CheckoutResult:
        compensations: list[Compensation] = []
        captured: PaymentCheck | None = None
        order = f"order {inp.order_id}"
        try:
            self._set_status("claiming_holds")
            # Both compensations first: cancelling the order also gives back the seats its holds kept.
            self._progress.register(
                compensations,
                "release_order_holds",
                lambda: self._compensate(
                    OrderActivities.release_order_holds, inp.order_id, f"release_order_holds: give back {order}'s seats"
                ),
            )
            self._progress.register(
                compensations,
                "cancel_order",
                lambda: self._compensate(
                    OrderActivities.cancel_order,
                    CancelOrderInput(order_id=inp.order_id, reason=self._reason or "failed"),
                    f"cancel_order: cancel {order} ({self._reason or 'failed'})",
                ),
            )
            window_closes_at = workflow.now() + timedelta(seconds=inp.payment_window_seconds)
            opened: OpenOrderResult = await self._step(
                OrderActivities.open_order,
                OpenOrderInput(checkout=inp, window_closes_at=window_closes_at.isoformat()),
                f"open_order: claim {len(inp.hold_ids)} hold(s) and create {order}",
            )
            self._summary = opened.summary
            # The payment window never outlasts the claimed holds (open_order takes the earlier of the two).
            deadline = datetime.fromisoformat(opened.summary.expires_at)
            self._progress.payment_deadline = deadline

            if self._summary.total_amount == 0:
                captured = PaymentCheck(state="succeeded", amount=0, currency=self._summary.currency)
            else:
                self._set_status("initiating_payment")
                self._progress.register(
                    compensations,
                    "expire_payment",
                    lambda: self._compensate(
                        PaymentActivities.expire_payment, inp.order_id, f"expire_payment: close {order}'s payment page"
                    ),
                )
                assert opened.payment is not None  # every order with something to pay has its draft
                session = await self._step(
                    PaymentActivities.initiate_payment,
                    InitiatePaymentInput(order_id=inp.order_id, payment=opened.payment, return_url=inp.return_url),
                    f"initiate_payment: {inp.provider} payment page for {self._summary.total_text}",
                )
                self._summary.payment_url = session.payment_url
                self._watch.payment = VerifyPaymentInput(
                    inp.order_id, inp.provider, self._summary.reference, session.provider_reference
                )
                self._set_status("awaiting_payment")
                self._session_ready = True
                self._progress.wait(
                    "payment", deadline, f"the buyer to pay through {inp.provider}", inp.poll_interval_seconds
                )
                check = await self._watch.until_decided(deadline, inp.poll_interval_seconds)
                self._progress.wait(None)
                if check.state != "succeeded":
                    raise CheckoutAborted(self._cancel_reason(check))
                captured = check
                # From here money is ours: any failure to complete must give it back.
                self._progress.register(
                    compensations,
                    "refund_captured",
                    lambda: self._refund_captured(inp, captured, self._reason or "not fulfilled"),
                )

            self._set_status("issuing_tickets")
            done = await self._step(
                OrderActivities.complete_order,
                CompleteOrderInput(
                    order_id=inp.order_id,
                    amount=captured.amount or 0,
                    currency=captured.currency or "",
                    provider_transaction_id=captured.provider_transaction_id,
                ),
                f"complete_order: issue the tickets of {order}, post the sale",
            )
            self._set_status("paid")
            self._decided = True
            self._session_ready = True
            # A forward step: the order is paid, so fulfilment is started however long it takes (never unwound).
            await self._local(
                OrderActivities.start_fulfillment,
                inp.order_id,
                UNTIL_DONE,
                f"start_fulfillment: PDF and e-mail of {order}",
            )
            self._progress.note(
                f"Paid: {len(done.ticket_ids)} ticket(s) issued; run fulfillment-{inp.order_id} sends them."
            )
            return CheckoutResult(order_id=inp.order_id, status="paid", ticket_ids=done.ticket_ids)
        except (*STEP_ERRORS, CheckoutAborted) as err:
            self._reason = err.reason if isinstance(err, CheckoutAborted) else self._failure_reason(err)
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError):
                self._failure = cause
            await self._unwind(compensations)
            refunded = await self._late_payment_grace(inp, already_refunded=captured is not None)
            return CheckoutResult(
                order_id=inp.order_id,
                status="cancelled",
                reason=self._reason,
                refunded=refunded or captured is not None,
            )
        except asyncio.CancelledError:
            # An operator cancelled the run: put everything back before honouring it.
            self._reason = "operator_cancelled"
            await self._unwind(compensations)
            raise

    @staticmethod
    def _cancel_reason(check: PaymentCheck) -> str:
        reasons = {
            "failed": "payment_declined",
            "expired": "payment_expired",
            "cancelled": "buyer_cancelled",
            "timeout": "payment_timeout",
        }
        return reasons.get(check.state, "payment_timeout")

    @staticmethod
    def _failure_reason(err: ActivityError | ApplicationError) -> str:
        cause = err.cause if isinstance(err, ActivityError) else err
        if isinstance(cause, ApplicationError) and cause.details:
            detail = cause.details[0]
            if isinstance(detail, dict) and "code" in detail:
                return str(detail["code"])
        return cause.type if isinstance(cause, ApplicationError) and cause.type else "step_failed"

    async def _unwind(self, compensations: list[Compensation]) -> None:
        """Run compensations newest first, to the end, even if this run is being cancelled."""
        self._set_status("compensating")
        self._progress.wait(None)

        async def run_all() -> None:
            for compensate in reversed(compensations):
                await compensate.run()
                self._progress.undid(compensate.name, self._reason)

        task = asyncio.ensure_future(run_all())
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue  # keep unwinding; the cancellation is honoured afterwards
        self._set_status("cancelled")
        self._decided = True
        self._session_ready = True
        self._progress.note(f"Cancelled ({self._reason}); undone: {', '.join(self._progress.undone) or 'nothing'}.")

    async def _late_payment_grace(self, inp: CheckoutInput, *, already_refunded: bool) -> bool:
        """Stay reachable for late payments: confirm and refund any captured after we gave up."""
        if inp.late_payment_grace_seconds <= 0 or already_refunded or self._watch.payment is None:
            return False
        self._set_status("cancelled")
        self._progress.late_until = workflow.now() + timedelta(seconds=inp.late_payment_grace_seconds)
        self._progress.wait(
            "late_payment", self._progress.late_until, "a late payment to refund (the checkout was cancelled)"
        )
        late = await self._watch.late_capture(self._progress.late_until)
        self._progress.wait(None)
        if late is None:
            self._progress.note(f"Cancelled ({self._reason}); no payment arrived during the grace period.")
            return False
        await self._refund_captured(inp, late, "late_payment")
        return True

    async def _refund_captured(self, inp: CheckoutInput, check: PaymentCheck | None, reason: str) -> None:
        """Give back money captured for an order that is not fulfilled, through the refund flow (a child run that
        outlives this one if it must), until the provider confirms it."""
        if check is None or not check.amount:
            return
        paid = self._summary
        same = paid is not None and check.amount == paid.total_amount and paid.total_text
        amount = paid.total_text if same and paid else f"{check.amount} {check.currency} (minor units)"
        self._progress.wait("refund", None, f"the refund of {amount} captured for order {inp.order_id} ({reason})")
        progress = await refund_capture(
            CaptureRefund(inp.order_id, reason, amount=check.amount, currency=check.currency or ""),
            poll_interval_seconds=inp.poll_interval_seconds,
            summary=f"Refund of order {inp.order_id}: {amount} captured ({reason})",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SA_ORDER_ID, inp.order_id),
                    SearchAttributePair(SA_EVENT_ID, inp.event_id),
                    SearchAttributePair(SA_ORGANIZATION_ID, inp.organization_id),
                ]
            ),
        )
        self._progress.wait(None)
        if progress is not None and progress.state == "succeeded":
            self._set_status("refunded")
            self._progress.note(f"Refunded ({reason}): {progress.refund_id}.")

    # --- helpers --------------------------------------------------------------------------------------

    async def _local(self, fn: Callable[..., Awaitable[Any]], arg: Any, retry: RetryPolicy, summary: str) -> Any:
        """A local activity labelled ``summary`` (the step's name first), shown as the running step meanwhile."""
        self._progress.step = summary.split(":", 1)[0]
        try:
            return await workflow.execute_local_activity_method(
                fn, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=retry, summary=summary
            )
        finally:
            self._progress.step = None

    async def _step(self, fn: Callable[..., Awaitable[Any]], arg: Any, summary: str) -> Any:
        return await self._local(fn, arg, STEP_RETRY, summary)

    async def _compensate(self, fn: Callable[..., Awaitable[Any]], arg: Any, summary: str) -> Any:
        return await self._local(fn, arg, UNTIL_DONE, summary)

    def _order_status(self) -> str:
        return {"paid": "paid", "cancelled": "cancelled", "refunded": "cancelled"}.get(self._status, "pending")

    def _set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            workflow.upsert_search_attributes([SA_CHECKOUT_STATUS.value_set(status)])
            self._progress.entered(status)
