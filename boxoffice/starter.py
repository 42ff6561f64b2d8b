"""Client-side Temporal operations: the Schedules the worker keeps, and starting checkouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
    WithStartWorkflowOperation,
)
from temporalio.client import ScheduleOverlapPolicy as Overlap
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from boxoffice.config import Settings
from boxoffice.messages import (
    HOLD_EXPIRY_SCHEDULE_ID,
    WEBHOOK_RELAY_SCHEDULE_ID,
    CheckoutInput,
    ExpireHoldsInput,
    OrderSummary,
    RelayInput,
    checkout_workflow_id,
)
from boxoffice.temporal import SA_CHECKOUT_STATUS, SA_EVENT_ID, SA_ORDER_ID, SA_ORGANIZATION_ID, SEARCH_ATTRIBUTES
from boxoffice.workflows.checkout import CheckoutWorkflow
from boxoffice.workflows.holds import HoldExpiryWorkflow
from boxoffice.workflows.relay import WebhookRelayWorkflow


async def ensure_schedule(
    client: Client, schedule_id: str, workflow: Any, arg: Any, *, task_queue: str, every_seconds: int
) -> None:
    """Create (or bring up to date) a Schedule; visible under Schedules in the Temporal UI."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            workflow, arg, id=f"{schedule_id}-run", task_queue=task_queue, execution_timeout=timedelta(minutes=2)
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
        HoldExpiryWorkflow.run,
        ExpireHoldsInput(),
        task_queue=task_queue,
        every_seconds=every_seconds,
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the Keyword search attributes operators filter on (the dev server gets them as flags)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

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
        WebhookRelayWorkflow.run,
        RelayInput(),
        task_queue=settings.checkout_task_queue,
        every_seconds=30,
    )


async def start_checkout(client: Client, inp: CheckoutInput, *, task_queue: str) -> OrderSummary:
    """Start the checkout and wait, in the same call, for its payment page (update-with-start).

    A repeat for the same order id (same Idempotency-Key) attaches to the running checkout instead of
    starting another; a closed one is refused by the id-reuse policy (the caller reads the order instead).
    """
    start = WithStartWorkflowOperation(
        CheckoutWorkflow.run,
        inp,
        id=checkout_workflow_id(inp.order_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_ORDER_ID, inp.order_id),
                SearchAttributePair(SA_EVENT_ID, inp.event_id),
                SearchAttributePair(SA_ORGANIZATION_ID, inp.organization_id),
                SearchAttributePair(SA_CHECKOUT_STATUS, "started"),
            ]
        ),
    )
    # The SDK's stubs type an async update method's result as a coroutine; the call returns its value.
    update = CheckoutWorkflow.payment_session
    return await client.execute_update_with_start_workflow(update, start_workflow_operation=start)  # type: ignore[arg-type]
