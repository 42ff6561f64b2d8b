"""Telling both parties of a transfer: the fulfilment flow's message runs, started once per transfer.

The transfer is committed first (the gates refuse the old ticket from that moment); then two message runs start:
the new holder's (``message-transfer-{transfer_id}:holder``: their ticket, as a PDF of its own) and the buyer's
notice (``message-transfer-{transfer_id}:buyer``, with the order's PDF re-rendered: the old ticket marked void, the
new one in it). ``notified_at`` records that both were started; the run ids make a repeat a no-op, so repeating the transfer
request starts whatever could not be started before (Temporal unreachable).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.models import TicketTransfer


def transfer_messages(transfer: TicketTransfer) -> list[MessageInput]:
    """The new holder's message (``{transfer_id}:holder``, their ticket attached) and the buyer's notice
    (``{transfer_id}:buyer``, the order's PDF refreshed): two causes of their own per transfer."""
    order_id, key = str(transfer.order_id), str(transfer.id)
    return [
        MessageInput(kind="transfer", order_id=order_id, key=f"{key}:holder", ticket_ids=[str(transfer.to_ticket_id)]),
        MessageInput(kind="transfer", order_id=order_id, key=f"{key}:buyer", refresh_pdf=True),
    ]


async def notify_transfer(
    client: Client, db: Database, transfer: TicketTransfer, *, task_queue: str, now: datetime
) -> list[str]:
    """Start both message runs (once each) and record that they were started; returns their workflow ids.
    Raises what the Temporal client raises when a run cannot be started (nothing is recorded then)."""
    ids = [await send_message(client, m, task_queue=task_queue) for m in transfer_messages(transfer)]
    async with db.transaction() as session:
        await session.execute(
            update(TicketTransfer)
            .where(col(TicketTransfer.id) == transfer.id, col(TicketTransfer.notified_at).is_(None))
            .values(notified_at=now)
        )
    return ids
