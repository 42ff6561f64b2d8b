"""The checkout's timers on Temporal's time-skipping test server: minutes pass in milliseconds.

These tests are about the workflow's branching (when it gives up, what it unwinds, how a late payment is given
back), so every activity is a fake registered under the real activity's name; the flows' own activities are
tested end to end elsewhere (test_checkout_*.py, test_providers_e2e.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.checkout.contract import (
    SEARCH_ATTRIBUTES,
    CancelOrderInput,
    CheckoutInput,
    CheckoutResult,
    CompleteOrderInput,
    CompleteOrderResult,
    InitiatePaymentInput,
    OpenOrderInput,
    OpenOrderResult,
    OrderSummary,
    PaymentCheck,
    PaymentDraft,
    PaymentSessionResult,
    VerifyPaymentInput,
)
from boxoffice.checkout.workflow import CheckoutWorkflow
from boxoffice.refunds.contract import RefundInput, RefundOutcome
from boxoffice.refunds.workflow import RefundWorkflow
from boxoffice.webhooks.contract import SIGNAL_PAYMENT_EVENT, PaymentEventSignal

INDEXED_KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


@dataclass
class FakeSteps:
    """What the fake activities were asked, in order, and what the provider says."""

    hold_minutes: int
    paid: bool = False
    calls: list[str] = field(default_factory=list)
    opened_at: datetime | None = None

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="open_order")
        async def open_order(inp: OpenOrderInput) -> OpenOrderResult:
            self.calls.append("open_order")
            window = datetime.fromisoformat(inp.window_closes_at)
            # The workflow's own clock (the test server's skipped time), not this worker's.
            self.opened_at = window - timedelta(seconds=inp.checkout.payment_window_seconds)
            holds_expire = self.opened_at + timedelta(minutes=self.hold_minutes)
            expires = min(window, holds_expire).isoformat()
            summary = OrderSummary(inp.checkout.order_id, "pending", 5000, "ZAR", "bo-ref", expires)
            draft = PaymentDraft("sandbox", "bo-ref", 5000, "ZAR", "Show", expires)
            return OpenOrderResult(summary=summary, payment=draft)

        @activity.defn(name="initiate_payment")
        async def initiate_payment(inp: InitiatePaymentInput) -> PaymentSessionResult:
            self.calls.append("initiate_payment")
            return PaymentSessionResult(payment_url="https://pay.example/x", provider_reference="bo-ref")

        @activity.defn(name="verify_payment")
        async def verify_payment(inp: VerifyPaymentInput) -> PaymentCheck:
            self.calls.append("verify_payment")
            return (
                PaymentCheck(state="succeeded", amount=5000, currency="ZAR") if self.paid else PaymentCheck("pending")
            )

        @activity.defn(name="complete_order")
        async def complete_order(inp: CompleteOrderInput) -> CompleteOrderResult:
            self.calls.append("complete_order")
            return CompleteOrderResult(ticket_ids=[], status="paid")

        @activity.defn(name="expire_payment")
        async def expire_payment(order_id: str) -> None:
            self.calls.append("expire_payment")

        @activity.defn(name="cancel_order")
        async def cancel_order(inp: CancelOrderInput) -> str:
            self.calls.append("cancel_order")
            return "cancelled"

        @activity.defn(name="release_order_holds")
        async def release_order_holds(order_id: str) -> int:
            self.calls.append("release_order_holds")
            return 1

        @activity.defn(name="prepare_capture_refund")
        async def prepare_capture_refund(inp: RefundInput) -> bool:
            self.calls.append("prepare_capture_refund")
            return True

        @activity.defn(name="execute_refund")
        async def execute_refund(refund_id: str) -> RefundOutcome:
            self.calls.append("execute_refund")
            return RefundOutcome(refund_id, "succeeded", "re_1")

        return [
            open_order,
            initiate_payment,
            verify_payment,
            complete_order,
            prepare_capture_refund,
            execute_refund,
            expire_payment,
            cancel_order,
            release_order_holds,
        ]


def _checkout(order_id: str, *, window_minutes: int, grace_minutes: int = 0) -> CheckoutInput:
    return CheckoutInput(
        order_id=order_id,
        organization_id="org1",
        event_id=str(uuid.uuid4()),
        user_id="alice",
        hold_ids=[str(uuid.uuid4())],
        provider="sandbox",
        request_hash="h",
        payment_window_seconds=window_minutes * 60,
        poll_interval_seconds=60,
        late_payment_grace_seconds=grace_minutes * 60,
    )


async def _run(env: WorkflowEnvironment, inp: CheckoutInput) -> WorkflowHandle[CheckoutWorkflow, CheckoutResult]:
    return await env.client.start_workflow(
        CheckoutWorkflow.run, inp, id=f"checkout-{inp.order_id}", task_queue="timeouts"
    )


_REGISTERED: set[int] = set()


@pytest.fixture
async def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The time-skipping server, with the search attributes the checkout sets (it starts with none, and cannot
    list them, so they are added once per server)."""
    if id(time_skipping_env) not in _REGISTERED:
        await time_skipping_env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                search_attributes={k.name: INDEXED_KEYWORD for k in SEARCH_ATTRIBUTES}, namespace="default"
            )
        )
        _REGISTERED.add(id(time_skipping_env))
    return time_skipping_env


@pytest.mark.parametrize(("window", "hold", "gives_up_after"), [(15, 60, 15), (15, 5, 5)])
async def test_an_unpaid_checkout_gives_up_at_the_window_or_the_holds_expiry_and_unwinds(
    env: WorkflowEnvironment, window: int, hold: int, gives_up_after: int
) -> None:
    steps = FakeSteps(hold_minutes=hold)
    async with Worker(env.client, task_queue="timeouts", workflows=[CheckoutWorkflow], activities=steps.activities()):
        handle = await _run(env, _checkout(str(uuid.uuid4()), window_minutes=window))
        result = await handle.result()
        ended = await env.get_current_time()
    assert (result.status, result.reason, result.refunded) == ("cancelled", "payment_timeout", False)
    assert steps.opened_at is not None
    waited = ended - steps.opened_at
    assert timedelta(minutes=gives_up_after) <= waited < timedelta(minutes=gives_up_after + 1)
    # It asked the provider on the poll interval, never outlived the holds, and unwound newest first.
    assert steps.calls.count("verify_payment") >= gives_up_after - 1
    tail = [c for c in steps.calls if c != "verify_payment"][-3:]
    assert tail == ["expire_payment", "cancel_order", "release_order_holds"]
    assert "complete_order" not in steps.calls


async def test_a_payment_within_the_grace_period_is_refunded_by_a_child_refund_run(env: WorkflowEnvironment) -> None:
    steps = FakeSteps(hold_minutes=60)
    order_id = str(uuid.uuid4())
    workflows = [CheckoutWorkflow, RefundWorkflow]
    async with Worker(env.client, task_queue="timeouts", workflows=workflows, activities=steps.activities()):
        handle = await _run(env, _checkout(order_id, window_minutes=15, grace_minutes=60))
        await env.sleep(timedelta(minutes=30))  # the checkout timed out and waits for a late payment
        assert "cancel_order" in steps.calls and "prepare_capture_refund" not in steps.calls
        steps.paid = True
        await handle.signal(SIGNAL_PAYMENT_EVENT, PaymentEventSignal("sandbox", "evt-late", "payment_succeeded"))
        result = await handle.result()
    assert (result.status, result.reason, result.refunded) == ("cancelled", "payment_timeout", True)
    assert steps.calls[-2:] == ["prepare_capture_refund", "execute_refund"]
    assert "complete_order" not in steps.calls
