"""The events flow's runs (issue 13): an event's cancellation refunding every paid order, and an edit followed to the
tickets sold. Both go through orders page by page at a bounded rate and continue as new every so many orders.

``EventCancellationWorkflow`` (``event-cancellation-{event_id}``), started once the API has stopped sales:
stop the checkouts in progress → pass over the orders still to settle (``next_orders``), a batch at a time
(``cancel_orders``: refund recorded and its ``RefundWorkflow`` started, or free tickets voided; the buyer's
cancellation message) → at the end of each pass, stop what still runs, count (``tally_cancellation``) and, until
every refund is paid out, look again after a pause: a later pass finds orders paid meanwhile and orders whose other
refund has settled. Its progress is the ``progress`` query and the run's current details.

Resumable after any crash: the database says what is settled (each order's refund id derives from it), every step
is idempotent, and the orders of a batch are in the history, so a retried batch repeats only idempotent steps.

``EventChangeWorkflow`` (``event-change-{event_id}-{revision}``): re-sign the tickets with the event's new validity
(``reissue_tickets``, in batches until none is left) → tell each order's buyer (``tell_buyers``: the PDF re-rendered
and sent) → re-sign once more (tickets issued meanwhile with the old validity).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.events.activities import EventActivities
    from boxoffice.events.contract import (
        QUERY_PROGRESS,
        BatchResult,
        CancellationInput,
        CancellationProgress,
        ChangeBatch,
        ChangeInput,
        ChangePage,
        ChangeResult,
        OrderBatch,
        OrderPage,
        Pace,
        ReissueInput,
        StopResult,
        Tally,
    )

# Every step is retried until it succeeds: money owed back and buyers to tell are never dropped.
UNTIL_DONE = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=0
)
READ = timedelta(seconds=30)
# A batch heartbeats after each order, so a batch lost with its worker is retried within the heartbeat timeout.
BATCH_TIMEOUT, HEARTBEAT = timedelta(minutes=5), timedelta(seconds=10)
POLLS_PER_RUN = 200  # then continue-as-new, so a cancellation waiting on slow refunds keeps a short history
REISSUE_BATCH = 500
T = TypeVar("T")


async def _paced(pace: Pace, n: int, step: Awaitable[T]) -> T:
    """``step``'s result, no sooner than ``n`` orders at ``pace.orders_per_second`` allow (the bounded rate)."""
    timer = asyncio.ensure_future(workflow.sleep(n / pace.orders_per_second))
    result = await step
    await timer
    return result


@workflow.defn(name="EventCancellationWorkflow")
class EventCancellationWorkflow:
    def __init__(self) -> None:
        self._progress = CancellationProgress(event_id="")

    @workflow.query(name=QUERY_PROGRESS)
    def progress(self) -> CancellationProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: CancellationInput) -> CancellationProgress:
        first = inp.progress is None
        self._progress = inp.progress or CancellationProgress(event_id=inp.event_id)
        if first:
            self._stopped(await self._stop(inp))
            self._counted(await self._tally(inp))
            self._progress.state = "refunding"
        self._show()
        cursor, handled, polls = inp.cursor, 0, 0
        while True:
            ids: list[str] = await workflow.execute_activity_method(
                EventActivities.next_orders,
                OrderPage(inp.event_id, after=cursor, limit=inp.pace.batch_size),
                start_to_close_timeout=READ,
                retry_policy=UNTIL_DONE,
                summary="next orders to settle",
            )
            if ids:
                await self._settle(inp, ids)
                cursor, handled = ids[-1], handled + len(ids)
                if handled >= inp.pace.orders_per_run:
                    self._continue(inp, cursor)
                continue
            # A pass over the orders has ended: stop what still runs, count, and look again until all is settled.
            stopped = await self._stop(inp)
            self._stopped(stopped)
            tally = await self._tally(inp)
            self._counted(tally)
            if not (tally.unhandled or tally.in_flight or stopped.stopping):
                break
            self._progress.state = "refunding" if tally.unhandled else "settling"
            self._show()
            await workflow.sleep(timedelta(seconds=inp.pace.poll_seconds))
            cursor, polls = None, polls + 1
            if polls >= POLLS_PER_RUN:
                self._continue(inp, None)
        self._progress.state = "done"
        self._show()
        return self._progress

    async def _settle(self, inp: CancellationInput, ids: list[str]) -> None:
        step = workflow.execute_activity_method(
            EventActivities.cancel_orders,
            OrderBatch(inp.event_id, ids),
            start_to_close_timeout=BATCH_TIMEOUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=UNTIL_DONE,
            summary=f"refund or void {len(ids)} orders",
        )
        result: BatchResult = await _paced(inp.pace, len(ids), step)
        self._progress.deferred = result.count("deferred")
        if result.tally is not None:
            self._counted(result.tally)
        self._show()

    async def _stop(self, inp: CancellationInput) -> StopResult:
        result: StopResult = await workflow.execute_activity_method(
            EventActivities.stop_checkouts,
            inp.event_id,
            start_to_close_timeout=BATCH_TIMEOUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=UNTIL_DONE,
            summary="release holds, stop checkouts",
        )
        return result

    async def _tally(self, inp: CancellationInput) -> Tally:
        tally: Tally = await workflow.execute_activity_method(
            EventActivities.tally_cancellation,
            inp.event_id,
            start_to_close_timeout=READ,
            retry_policy=UNTIL_DONE,
            summary="count refunds",
        )
        return tally

    def _stopped(self, stopped: StopResult) -> None:
        self._progress.holds_released += stopped.holds_released
        self._progress.checkouts_stopped = max(self._progress.checkouts_stopped, stopped.checkouts_stopped)

    def _counted(self, tally: Tally) -> None:
        p = self._progress
        p.total, p.done, p.failed = tally.total, tally.done, tally.failed
        p.refunds_started, p.refunds_settled, p.orders_voided = tally.refunds, tally.refunded, tally.voided_orders

    def _show(self) -> None:
        p = self._progress
        workflow.set_current_details(
            f"**{p.state}**: {p.done} of {p.total} orders settled, {p.failed} refund(s) refused and being sent again; "
            f"{p.refunds_started} refunds started, {p.refunds_settled} paid out, {p.orders_voided} free orders voided, "
            f"{p.deferred} waiting for another refund; {p.checkouts_stopped} checkouts stopped (run {p.runs})"
        )

    def _continue(self, inp: CancellationInput, cursor: str | None) -> None:
        progress = dataclasses.replace(self._progress, runs=self._progress.runs + 1)
        workflow.continue_as_new(dataclasses.replace(inp, cursor=cursor, progress=progress))


@workflow.defn(name="EventChangeWorkflow")
class EventChangeWorkflow:
    @workflow.run
    async def run(self, inp: ChangeInput) -> ChangeResult:
        reissued = 0 if inp.reissued else await self._reissue(inp)
        cursor, told, handled = inp.cursor, inp.told, 0
        workflow.set_current_details(f"tickets re-signed ({reissued}); telling buyers")
        while ids := await self._next(inp, cursor):
            step = workflow.execute_activity_method(
                EventActivities.tell_buyers,
                ChangeBatch(inp.event_id, inp.revision, ids),
                start_to_close_timeout=BATCH_TIMEOUT,
                heartbeat_timeout=HEARTBEAT,
                retry_policy=UNTIL_DONE,
                summary=f"tell {len(ids)} buyers",
            )
            told += await _paced(inp.pace, len(ids), step)
            cursor, handled = ids[-1], handled + len(ids)
            workflow.set_current_details(f"{told} buyers told of edit {inp.revision}")
            if handled >= inp.pace.orders_per_run:
                workflow.continue_as_new(dataclasses.replace(inp, reissued=True, cursor=cursor, told=told))
        reissued += await self._reissue(inp)  # tickets issued meanwhile with the old validity
        workflow.set_current_details(f"done: {told} buyers told of edit {inp.revision}")
        return ChangeResult(inp.event_id, inp.revision, reissued=reissued, told=told)

    async def _next(self, inp: ChangeInput, cursor: str | None) -> list[str]:
        ids: list[str] = await workflow.execute_activity_method(
            EventActivities.orders_to_tell,
            ChangePage(inp.event_id, inp.revision, after=cursor, limit=inp.pace.batch_size),
            start_to_close_timeout=READ,
            retry_policy=UNTIL_DONE,
            summary="next buyers to tell",
        )
        return ids

    async def _reissue(self, inp: ChangeInput) -> int:
        total = 0
        while True:
            n: int = await workflow.execute_activity_method(
                EventActivities.reissue_tickets,
                ReissueInput(inp.event_id, REISSUE_BATCH),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=UNTIL_DONE,
                summary="re-sign tickets with the new validity",
            )
            total += n
            if n < REISSUE_BATCH:
                return total
