"""Starting, signalling and querying waiting-list runs: the only place that knows how they are started.

Every signal is a signal-with-start: the list's run is started if it is not running (it ends whenever its line is
empty), so no signal ever finds nothing to wake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.codec import clear_text
from boxoffice.config import Settings
from boxoffice.waitlist.contract import (
    QUERY_PROGRESS,
    WAITLIST_WORKFLOW,
    ListChange,
    WaitlistInput,
    WaitlistProgress,
    waitlist_workflow_id,
)


@dataclass(frozen=True)
class WaitlistRuns:
    """How this process starts waiting-list runs: their task queue, and the offer time and re-check interval a
    new run is given."""

    task_queue: str
    offer_seconds: int
    recheck_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> WaitlistRuns:
        return cls(settings.checkout_task_queue, settings.waitlist_offer_seconds, settings.waitlist_recheck_seconds)

    def input(self, ticket_type_id: str) -> WaitlistInput:
        return WaitlistInput(ticket_type_id, self.offer_seconds, self.recheck_seconds)


def _labels(ticket_type_id: str, runs: WaitlistRuns) -> tuple[str, str]:
    """The run's static summary and details in the Temporal UI (ids and durations only)."""
    return (
        clear_text(f"Waiting list of ticket type {ticket_type_id}"),
        clear_text(
            f"**Waiting list** of ticket type `{ticket_type_id}`: seats that come back are offered to the buyers in"
            f" line, in order, each as a hold kept for them {runs.offer_seconds} s, then passed on.\n"
            f"- wakes on `joined`, `left`, `seats_freed`, `offer_declined`, at an offer's deadline, and every"
            f" {runs.recheck_seconds} s; ends when the line is empty (the next signal starts it again)\n"
            "- the `progress` query shows the line, the seats kept for it and the open offers"
        ),
    )


async def tell(client: Client, runs: WaitlistRuns, ticket_type_id: str, signal: str, change: ListChange) -> str:
    """Signal the ticket type's list (``joined``, ``left``, ``seats_freed``, ``offer_declined``), starting its run
    if it is not running. Returns the run's workflow id; raises what the Temporal client raises."""
    workflow_id = waitlist_workflow_id(ticket_type_id)
    summary, details = _labels(ticket_type_id, runs)
    await client.start_workflow(
        WAITLIST_WORKFLOW,
        runs.input(ticket_type_id),
        id=workflow_id,
        task_queue=runs.task_queue,
        start_signal=signal,
        start_signal_args=[change],
        static_summary=summary,
        static_details=details,
    )
    return workflow_id


async def ensure_running(client: Client, runs: WaitlistRuns, ticket_type_id: str) -> bool:
    """Start the list's run unless it is running (no signal is sent); True when it was not running."""
    if await _running(client, ticket_type_id):
        return False
    summary, details = _labels(ticket_type_id, runs)
    await client.start_workflow(
        WAITLIST_WORKFLOW,
        runs.input(ticket_type_id),
        id=waitlist_workflow_id(ticket_type_id),
        task_queue=runs.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,  # started meanwhile: leave it be
        static_summary=summary,
        static_details=details,
    )
    return True


async def _running(client: Client, ticket_type_id: str) -> bool:
    try:
        described = await client.get_workflow_handle(waitlist_workflow_id(ticket_type_id)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING


async def progress(client: Client, ticket_type_id: str) -> WaitlistProgress | None:
    """The list run's ``progress`` query, or None when no run is going (the line is empty)."""
    if not await _running(client, ticket_type_id):
        return None
    try:
        return await client.get_workflow_handle(waitlist_workflow_id(ticket_type_id)).query(
            QUERY_PROGRESS, result_type=WaitlistProgress, rpc_timeout=timedelta(seconds=5)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # it ended between the two calls
            return None
        raise
