"""Client-side Temporal operations: the schedules the worker keeps, and starting workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.client import ScheduleOverlapPolicy as Overlap

from boxoffice.messages import HOLD_EXPIRY_SCHEDULE_ID, ExpireHoldsInput
from boxoffice.workflows.holds import HoldExpiryWorkflow


async def ensure_hold_expiry_schedule(
    client: Client, *, task_queue: str, every_seconds: int, schedule_id: str = HOLD_EXPIRY_SCHEDULE_ID
) -> None:
    """Create (or bring up to date) the Schedule that sweeps expired holds; visible under Schedules in the UI."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            HoldExpiryWorkflow.run,
            ExpireHoldsInput(),
            id=f"{schedule_id}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=2),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_seconds))]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def _update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(_update)
