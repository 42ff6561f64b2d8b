"""Starting and reading the events flow's runs (issue 13): the only place that knows how they are started."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from boxoffice.checkout.contract import SA_EVENT_ID, SA_ORGANIZATION_ID
from boxoffice.codec import clear_text
from boxoffice.config import Settings
from boxoffice.events.contract import (
    EVENT_CANCELLATION_WORKFLOW,
    EVENT_CHANGE_WORKFLOW,
    QUERY_PROGRESS,
    CancellationInput,
    CancellationProgress,
    ChangeInput,
    Pace,
    cancellation_workflow_id,
    change_workflow_id,
)
from boxoffice.models import Event

QUERY_TIMEOUT = timedelta(seconds=2)


def pace_of(settings: Settings) -> Pace:
    """The bounded rate and run length the settings give (``BOXOFFICE_EVENT_*``)."""
    return Pace(
        orders_per_second=settings.event_orders_per_second,
        batch_size=settings.event_batch_size,
        orders_per_run=settings.event_orders_per_run,
        poll_seconds=settings.event_cancellation_poll_seconds,
    )


def _labels(event: Event) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_EVENT_ID, str(event.id)),
            SearchAttributePair(SA_ORGANIZATION_ID, event.organization_id),
        ]
    )


async def start_cancellation(client: Client, event: Event, pace: Pace, *, task_queue: str) -> str:
    """Start the event's cancellation run, or leave the one started before alone (running or finished: a repeated
    request changes nothing). Returns its workflow id; raises what the Temporal client raises when it cannot start."""
    workflow_id = cancellation_workflow_id(str(event.id))
    words = f": {event.cancellation_reason}" if event.cancellation_reason else ""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            EVENT_CANCELLATION_WORKFLOW,
            CancellationInput(event_id=str(event.id), organization_id=event.organization_id, pace=pace),
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=_labels(event),
            static_summary=clear_text(f"Cancel event {event.name} · refund every paid order"),
            static_details=clear_text(
                f"**Cancellation** of *{event.name}* (event `{event.id}`){words}\n"
                f"- sales stopped at {event.cancelled_at:%Y-%m-%d %H:%M:%S} UTC by `{event.cancelled_by}`\n"
                f"- at most {pace.orders_per_second:g} orders a second, {pace.batch_size} per step; a new run every "
                f"{pace.orders_per_run} orders\n"
                "- the `progress` query and these details say how far it is (done / failed / total); refunds the "
                "provider refuses are sent again, never given up"
            ),
        )
    return workflow_id


async def cancellation_progress(client: Client, event_id: str) -> CancellationProgress | None:
    """The cancellation's progress as its run says it (the query while it runs, its result once done), or None when
    there is no run (not started yet) or Temporal cannot answer now."""
    handle = client.get_workflow_handle(cancellation_workflow_id(event_id), result_type=CancellationProgress)
    try:
        described = await handle.describe()
        if described.status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        if described.status == WorkflowExecutionStatus.RUNNING:
            # A query needs a worker; with none, answer soon (the caller counts from the database instead).
            return await handle.query(QUERY_PROGRESS, result_type=CancellationProgress, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    return None


async def start_change(client: Client, event: Event, pace: Pace, *, task_queue: str) -> str:
    """Start the run that follows the event's latest edit (``event.revision``) to its tickets and buyers, once per
    edit: a repeat (running or finished) starts nothing. Returns its workflow id."""
    workflow_id = change_workflow_id(str(event.id), event.revision)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            EVENT_CHANGE_WORKFLOW,
            ChangeInput(event_id=str(event.id), revision=event.revision, pace=pace),
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=_labels(event),
            static_summary=clear_text(f"Edit {event.revision} of event {event.name} · tickets re-issued, buyers told"),
        )
    return workflow_id
