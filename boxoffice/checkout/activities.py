"""The checkout's order steps: open (claim holds + create), complete (tickets + inventory + ledger, atomically),
cancel and give the seats back (compensations), and start fulfilment."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from boxoffice.checkout import completion, opening, orders
from boxoffice.checkout.contract import (
    CancelOrderInput,
    CompleteOrderInput,
    CompleteOrderResult,
    OpenOrderInput,
    OpenOrderResult,
)
from boxoffice.checkout.issuing import TicketIssuer
from boxoffice.db import Database
from boxoffice.errors import Conflict
from boxoffice.failures import typed_errors
from boxoffice.fulfilment.contract import FULFILLMENT_WORKFLOW, FulfillmentInput, fulfillment_workflow_id
from boxoffice.inventory.holds import release_order_holds
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
        """Compensation: cancel the pending order, fail its transaction, release its holds. Idempotent."""
        try:
            async with self.db.transaction() as session:
                return await orders.cancel_order(session, inp.order_id, reason=inp.reason, now=utcnow())
        except Conflict as exc:  # already paid: nothing to cancel (the workflow decides what follows)
            return exc.code

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
            )
        return handle.id
