"""The Schedules and search attributes the worker keeps (the sweepers, the relay), started by workflow name as
any client starts a run: nothing here imports a workflow.

``ensure_schedules`` runs at every worker start-up: it creates what is missing and brings the rest up to date.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
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

from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.codec import clear_text
from boxoffice.config import Settings
from boxoffice.gate.contract import CHECKIN_SWEEP_SCHEDULE_ID, CHECKIN_SWEEP_WORKFLOW, SweepInput
from boxoffice.inventory.contract import HOLD_EXPIRY_SCHEDULE_ID, HOLD_EXPIRY_WORKFLOW, ExpireHoldsInput
from boxoffice.waitlist.contract import WAITLIST_SWEEP_SCHEDULE_ID, WAITLIST_SWEEP_WORKFLOW
from boxoffice.waitlist.contract import SweepInput as WaitlistSweepInput
from boxoffice.webhooks.contract import (
    WEBHOOK_RELAY_EVERY_SECONDS,
    WEBHOOK_RELAY_SCHEDULE_ID,
    WEBHOOK_RELAY_WORKFLOW,
    RelayInput,
)


async def ensure_schedule(
    client: Client, schedule_id: str, workflow: str, arg: Any, *, task_queue: str, every_seconds: int
) -> None:
    """Create (or bring up to date) a Schedule that starts ``workflow`` (by name); visible under Schedules in the
    Temporal UI."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,
            arg,
            id=f"{schedule_id}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=2),
            static_summary=clear_text(f"Schedule {schedule_id}, every {every_seconds} s"),  # issue 11
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


async def ensure_hold_expiry_schedule(
    client: Client, *, task_queue: str, every_seconds: int, schedule_id: str = HOLD_EXPIRY_SCHEDULE_ID
) -> None:
    await ensure_schedule(
        client,
        schedule_id,
        HOLD_EXPIRY_WORKFLOW,
        ExpireHoldsInput(),
        task_queue=task_queue,
        every_seconds=every_seconds,
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the Keyword search attributes operators filter on (the dev server gets them as flags)."""
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {
        k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for k in SEARCH_ATTRIBUTES
        if k.name not in listed.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
        )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_hold_expiry_schedule(
        client, task_queue=settings.checkout_task_queue, every_seconds=settings.hold_sweep_interval_seconds
    )
    await ensure_schedule(
        client,
        WEBHOOK_RELAY_SCHEDULE_ID,
        WEBHOOK_RELAY_WORKFLOW,
        RelayInput(),
        task_queue=settings.checkout_task_queue,
        every_seconds=WEBHOOK_RELAY_EVERY_SECONDS,
    )
    await ensure_schedule(  # the gate (issue 9): admitted tickets of ended events become used; void messages
        client,
        CHECKIN_SWEEP_SCHEDULE_ID,
        CHECKIN_SWEEP_WORKFLOW,
        SweepInput(),
        task_queue=settings.checkout_task_queue,
        every_seconds=settings.gate_sweep_interval_seconds,
    )
    await ensure_schedule(  # issue 13: every waiting list with buyers in it has its run
        client,
        WAITLIST_SWEEP_SCHEDULE_ID,
        WAITLIST_SWEEP_WORKFLOW,
        WaitlistSweepInput(),
        task_queue=settings.checkout_task_queue,
        every_seconds=settings.waitlist_sweep_interval_seconds,
    )
