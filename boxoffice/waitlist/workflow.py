"""WaitlistWorkflow (``waitlist-{ticket_type_id}``): one long-running run per ticket type's waiting list.

Each wake-up is one step (``advance_waitlist``, a local activity: one database transaction) that settles the
list's offers and offers the seats kept for it to the next buyers in line, in order. The run wakes when signalled
(``joined``, ``left``, ``seats_freed``, ``offer_declined``: it starts again on any of them once it has ended), at
the earliest deadline of an open offer (an offer not taken passes to the next in line), and every
``recheck_seconds`` in case a signal was lost. It ends once nobody is in the line and no offer is open, and
continues as new after ``STEPS_PER_RUN`` steps, so a list waiting for weeks keeps a short history.

``WaitlistSweepWorkflow`` (Schedule ``waitlist-sweeper``) makes sure every list with buyers in it has its run.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.waitlist.activities import WaitlistActivities
    from boxoffice.waitlist.contract import (
        QUERY_PROGRESS,
        SIGNAL_JOINED,
        SIGNAL_LEFT,
        SIGNAL_OFFER_DECLINED,
        SIGNAL_SEATS_FREED,
        AdvanceInput,
        AdvanceResult,
        ListChange,
        SweepInput,
        SweepResult,
        WaitlistInput,
        WaitlistProgress,
    )

# A database outage delays offers; it never drops one.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=0)
STEPS_PER_RUN = 200
# An offer's deadline is checked a moment after it passes (the step's clock may lag the timer's).
DEADLINE_GRACE = timedelta(seconds=1)


@workflow.defn(name="WaitlistWorkflow")
class WaitlistWorkflow:
    def __init__(self) -> None:
        self._wake = True
        self._progress = WaitlistProgress(ticket_type_id="")

    def _told(self, change: ListChange) -> None:
        self._wake = True

    @workflow.signal(name=SIGNAL_JOINED)
    def joined(self, change: ListChange) -> None:
        """A buyer joined the line."""
        self._told(change)

    @workflow.signal(name=SIGNAL_LEFT)
    def left(self, change: ListChange) -> None:
        """A buyer left the line (the list may now be empty)."""
        self._told(change)

    @workflow.signal(name=SIGNAL_SEATS_FREED)
    def seats_freed(self, change: ListChange) -> None:
        """Seats came back and were kept for the list (or the sweep asks for a look)."""
        self._told(change)

    @workflow.signal(name=SIGNAL_OFFER_DECLINED)
    def offer_declined(self, change: ListChange) -> None:
        """A buyer gave back their offer: its seats go to the next in line."""
        self._told(change)

    @workflow.query(name=QUERY_PROGRESS)
    def progress(self) -> WaitlistProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: WaitlistInput) -> WaitlistProgress:
        self._progress = WaitlistProgress(ticket_type_id=inp.ticket_type_id, totals=inp.totals)
        for _ in range(STEPS_PER_RUN):
            self._wake = False
            result = await self._step(inp)
            done = not result.open_offers and (result.closed or not result.waiting_entries)
            if done and not self._wake:
                why = "sales are over: the line was closed" if result.closed else "nobody is in the line"
                workflow.set_current_details(f"ended: {why} (a signal starts the list again)")
                return self._progress
            await self._sleep(inp, result)
        workflow.continue_as_new(
            WaitlistInput(inp.ticket_type_id, inp.offer_seconds, inp.recheck_seconds, self._progress.totals)
        )

    async def _step(self, inp: WaitlistInput) -> AdvanceResult:
        now = workflow.now()
        result: AdvanceResult = await workflow.execute_local_activity_method(
            WaitlistActivities.advance,
            AdvanceInput(inp.ticket_type_id, inp.offer_seconds, now.isoformat()),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary="settle offers, offer kept seats to the next in line",
        )
        totals = self._progress.totals
        totals.offers_made += len(result.offered)
        totals.offers_taken += len(result.taken)
        totals.offers_passed += len(result.passed)
        totals.advances += 1
        self._progress = WaitlistProgress(
            ticket_type_id=inp.ticket_type_id,
            waiting_entries=result.waiting_entries,
            waiting_seats=result.waiting_seats,
            kept_seats=result.kept_seats,
            open_offers=result.open_offers,
            totals=totals,
            last_step_at=now.isoformat(),
        )
        workflow.set_current_details(
            f"{result.waiting_entries} buyer(s) waiting for {result.waiting_seats} seat(s); {result.kept_seats} seat(s)"
            f" kept for them; {len(result.open_offers)} offer(s) open. Last step: {len(result.offered)} offered,"
            f" {len(result.taken)} taken, {len(result.passed)} passed on"
        )
        return result

    async def _sleep(self, inp: WaitlistInput, result: AdvanceResult) -> None:
        """Until a signal, the earliest deadline of an offer no checkout has claimed, or the re-check."""
        wait, why = timedelta(seconds=inp.recheck_seconds), "re-check the list"
        for offer in result.open_offers:
            if offer.in_checkout:
                continue  # the checkout decides; its seats come back with a signal if it fails
            until = datetime.fromisoformat(offer.expires_at) + DEADLINE_GRACE - workflow.now()
            if until < wait:
                wait, why = max(until, timedelta(seconds=1)), "an offer's deadline"
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._wake, timeout=wait, timeout_summary=why)


@workflow.defn(name="WaitlistSweepWorkflow")
class WaitlistSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepResult:
        result: SweepResult = await workflow.execute_local_activity_method(
            WaitlistActivities.ensure_running,
            inp,
            start_to_close_timeout=timedelta(seconds=60),
            summary="start the run of every waiting list with buyers in it",
        )
        return result
