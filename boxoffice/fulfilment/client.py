"""Starting the fulfilment flow's runs from the API or another flow's activity: the only place that knows how."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.fulfilment.contract import MESSAGE_WORKFLOW, MessageInput, message_workflow_id


async def send_message(client: Client, inp: MessageInput, *, task_queue: str) -> str:
    """Start the message run for ``inp``'s cause, once: a repeat of the same cause (running or done) is a no-op.
    Returns the run's workflow id. ``task_queue`` is the documents queue (``settings.documents_task_queue``)."""
    workflow_id = message_workflow_id(inp.kind, inp.key)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            MESSAGE_WORKFLOW,
            inp,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return workflow_id
