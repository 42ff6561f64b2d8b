"""Starting the fulfilment flow's runs from the API or another flow's activity: the only place that knows how."""

from __future__ import annotations

import contextlib
import uuid

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.codec import clear_text
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
            static_summary=clear_text(f"Message to the buyer of order {inp.order_id}: {inp.kind}"),  # issue 11
        )
    return workflow_id


# Resend keys derive from the order and the request's Idempotency-Key, so a repeated request sends nothing more.
_RESEND_NAMESPACE = uuid.UUID("7c1e9f52-2b8d-4a61-9f0e-5d3c8a4b1e27")


async def resend_tickets(
    client: Client, order_id: str, idempotency_key: str | None, *, task_queue: str
) -> tuple[str, str]:
    """Send the order's tickets again (a ``resend`` message): a new cause per call, or per ``idempotency_key``.
    Returns the cause's key and the run's workflow id."""
    if idempotency_key is None:
        key = str(uuid.uuid4())
    else:
        key = str(uuid.uuid5(_RESEND_NAMESPACE, f"{order_id}\x00{idempotency_key}"))
    inp = MessageInput(kind="resend", order_id=order_id, key=key)
    return key, await send_message(client, inp, task_queue=task_queue)
