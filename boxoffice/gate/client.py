"""Telling a buyer their ticket was voided: the fulfilment flow's message run, started once per void.

The void is committed first (the gates refuse the ticket from that moment); the message run is started after, by
the route and, should that fail (Temporal unreachable), by the check-in sweep, which starts every run still missing.
``notified_at`` records that the run was started; the run id (``message-void-{ticket_id}``) makes a repeat a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.models import TicketVoid


def void_message(ticket_id: uuid.UUID, order_id: uuid.UUID, reason: str) -> MessageInput:
    """The buyer's message about this void; the order's PDF is re-rendered with the ticket marked void."""
    return MessageInput(
        kind="void",
        order_id=str(order_id),
        key=str(ticket_id),
        reason=reason,
        ticket_ids=[str(ticket_id)],
        refresh_pdf=True,
    )


async def notify_void(client: Client, db: Database, void: TicketVoid, *, task_queue: str, now: datetime) -> str:
    """Start the void's message run (once) and record that it was started; returns the run's workflow id.
    Raises what the Temporal client raises when the run cannot be started (nothing is recorded then)."""
    workflow_id = await send_message(
        client, void_message(void.ticket_id, void.order_id, void.reason), task_queue=task_queue
    )
    async with db.transaction() as session:
        await session.execute(
            update(TicketVoid)
            .where(col(TicketVoid.ticket_id) == void.ticket_id, col(TicketVoid.notified_at).is_(None))
            .values(notified_at=now)
        )
    return workflow_id
