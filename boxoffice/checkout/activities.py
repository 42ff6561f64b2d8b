"""The checkout's order steps: open (claim holds + create), complete (tickets + inventory + ledger, atomically),
cancel and give the seats back (compensations), and start fulfilment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from boxoffice.checkout import completion, drafts, opening, orders
from boxoffice.checkout.contract import (
    CancelOrderInput,
    CompleteOrderInput,
    CompleteOrderResult,
    OpenOrderInput,
    OpenOrderResult,
)
from boxoffice.checkout.issuing import TicketIssuer
from boxoffice.codec import clear_text
from boxoffice.db import Database
from boxoffice.errors import Conflict
from boxoffice.failures import typed_errors
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import FULFILLMENT_WORKFLOW, FulfillmentInput, MessageInput, fulfillment_workflow_id
from boxoffice.inventory.holds import release_order_holds
from boxoffice.models import Order, Transaction
from boxoffice.models.states import OrderStatus
from boxoffice.models.types import utcnow


class OrderActivities:
    def __init__(self, db: Database, issuer: TicketIssuer, documents_task_queue: str):
        self.db, self.issuer, self.documents_task_queue = db, issuer, documents_task_queue

    @activity.defn(name="open_order")
    async def open_order(self, inp: OpenOrderInput) -> OpenOrderResult:
        """Claim the holds and create the order, its lines and its transaction, priced once, in one database
        transaction; fails with HoldNotFound / HoldExpired / HoldUnavailable / MixedEvents / a price error.
        A repeat returns the same order."""
        async with typed_errors(), self.db.transaction() as session:
            return await opening.open_order(
                session, inp.checkout, window_closes_at=datetime.fromisoformat(inp.window_closes_at), now=utcnow()
            )

    @activity.defn(name="complete_order")
    async def complete_order(self, inp: CompleteOrderInput) -> CompleteOrderResult:
        """Issue tickets, move held → sold, post the sale, mark paid: all or nothing."""
        async with typed_errors(), self.db.transaction() as session:
            ids = await completion.complete_order(
                session,
                inp.order_id,
                amount=inp.amount,
                currency=inp.currency,
                provider_transaction_id=inp.provider_transaction_id,
                issuer=self.issuer,
                now=utcnow(),
            )
        return CompleteOrderResult(ticket_ids=[str(i) for i in ids], status="paid")

    @activity.defn(name="cancel_order")
    async def cancel_order(self, inp: CancelOrderInput) -> str:
        """Compensation: cancel the pending order, fail its transaction, release its holds, and tell a buyer who
        had reached the payment page (once per order: the message run's id is the order's). Idempotent."""
        try:
            async with self.db.transaction() as session:
                await drafts.discard(session, inp.order_id)  # issue 11: a checkout that never opened its order
                status = await orders.cancel_order(session, inp.order_id, reason=inp.reason, now=utcnow())
        except Conflict as exc:  # already paid: nothing to cancel (the workflow decides what follows)
            return exc.code
        if await self._reached_payment_unpaid(inp.order_id):
            message = MessageInput(kind="cancellation", order_id=inp.order_id, key=inp.order_id, reason=inp.reason)
            await send_message(activity.client(), message, task_queue=self.documents_task_queue)
        return status

    async def _reached_payment_unpaid(self, order_id: str) -> bool:
        """The order is cancelled, its payment page was handed to the buyer, and no money was captured (captured
        money is given back by a refund, whose own message tells the buyer)."""
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(col(Order.status), col(Transaction.payment_url), col(Transaction.captured_amount))
                    .join(Transaction, col(Transaction.order_id) == col(Order.id))
                    .where(col(Order.id) == uuid.UUID(order_id))
                )
            ).first()
        return row is not None and row[0] == OrderStatus.CANCELLED and bool(row[1]) and not row[2]

    @activity.defn(name="release_order_holds")
    async def release_order_holds(self, order_id: str) -> int:
        """Compensation: give back every seat the checkout still holds. Idempotent."""
        async with self.db.transaction() as session:
            return await release_order_holds(session, order_id, utcnow())

    @activity.defn(name="start_fulfillment")
    async def start_fulfillment(self, order_id: str) -> str:
        """Start the order's fulfilment run (PDF and e-mail) once; it outlives the checkout."""
        async with typed_errors():
            handle = await activity.client().start_workflow(
                FULFILLMENT_WORKFLOW,
                FulfillmentInput(order_id=order_id),
                id=fulfillment_workflow_id(order_id),
                task_queue=self.documents_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=clear_text(f"Tickets of order {order_id}: PDF, stored and e-mailed"),  # issue 11
            )
        return handle.id
