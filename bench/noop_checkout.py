"""The ceiling of ``bench.checkout``: a no-op workflow of the checkout's Temporal shape, and its worker.

In a module of its own, as small as the checkout's: the workflow sandbox re-executes a workflow's module for
every run, so a no-op defined beside the benchmark's code would pay for that code on every run and understate the
ceiling. Its only application import, the checkout's search-attribute key, is passed through the sandbox.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.checkout.contract import SA_CHECKOUT_STATUS

NOOP_TASK_QUEUE = "bench-noop-checkout"


@activity.defn(name="bench_noop_step")
async def noop_step(step: str) -> str:
    """A local activity that does nothing (stands in for open_order, initiate, verify, complete, fulfil)."""
    return step


STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10), maximum_attempts=8
)


@workflow.defn(name="BenchNoopCheckout")
class NoopCheckoutWorkflow:
    """CheckoutWorkflow's happy path with every activity a no-op: the Temporal cost of a checkout alone.

    Same commands in the same order: search-attribute upserts on every status change, open order →
    initiate as local activities before the ``payment_session`` update returns, a ``payment_event`` signal
    awaited under a poll timer, then verify → complete → start fulfilment as local activities.
    """

    def __init__(self) -> None:
        self._status = "started"
        self._session_ready = False
        self._payment_url = ""
        self._hints = 0

    @workflow.signal(name="payment_event")
    def payment_event(self, _event: dict[str, Any]) -> None:
        self._hints += 1

    @workflow.update(name="payment_session")
    async def payment_session(self) -> str:
        await workflow.wait_condition(lambda: self._session_ready)
        return self._payment_url

    @workflow.run
    async def run(self, order_id: str) -> str:
        self._set_status("claiming_holds")
        await self._step("open_order")
        self._set_status("initiating_payment")
        self._payment_url = await self._step(f"https://example.invalid/pay/{order_id}")
        self._set_status("awaiting_payment")
        self._session_ready = True
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._hints > 0, timeout=timedelta(seconds=30))
        await self._step("verify_payment")
        self._set_status("issuing_tickets")
        await self._step("complete_order")
        self._set_status("paid")
        await self._step("start_fulfillment")
        return "paid"

    async def _step(self, name: str) -> str:
        return await workflow.execute_local_activity(
            noop_step, name, start_to_close_timeout=timedelta(seconds=30), retry_policy=STEP_RETRY
        )

    def _set_status(self, status: str) -> None:
        self._status = status
        workflow.upsert_search_attributes([SA_CHECKOUT_STATUS.value_set(status)])


async def noop_worker_main(address: str) -> None:
    """The ceiling's worker process: the no-op workflow on its own queue, with the real worker's limits, run until
    SIGINT/SIGTERM as ``boxoffice worker`` runs."""
    from temporalio.worker import Worker

    from bench.processes import BENCH_PAYLOAD_KEYS
    from boxoffice.temporal import connect, converter_for
    from boxoffice.worker import serve, stop_on_signals

    client = await connect(address, "default", converter=converter_for(BENCH_PAYLOAD_KEYS))
    worker = Worker(
        client,
        task_queue=NOOP_TASK_QUEUE,
        workflows=[NoopCheckoutWorkflow],
        activities=[noop_step],
        max_concurrent_activities=100,
        max_concurrent_local_activities=100,
        max_concurrent_workflow_tasks=100,
    )
    await serve([worker], stop_on_signals())
