"""The events flow's activities (issue 13): each step of a cancellation or an edit, safe to repeat.

A cancellation's order is settled in three steps, each idempotent: its refund recorded (id derived from the order),
its ``RefundWorkflow`` started (or found), its cancellation message started (one per order: the message run's id
is the cause's). A batch retried after a crash repeats them for every order of the batch and changes nothing twice.
"""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.client import Client

from boxoffice.checkout.client import stop_checkout
from boxoffice.checkout.issuing import TicketIssuer
from boxoffice.db import Database
from boxoffice.events import cancellation, changes
from boxoffice.events.contract import (
    CHANGE_MESSAGE_KIND,
    BatchResult,
    ChangeBatch,
    ChangePage,
    OrderBatch,
    OrderOutcome,
    OrderPage,
    ReissueInput,
    StopResult,
    Tally,
)
from boxoffice.failures import typed_errors
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.gate.voids import mark_notified
from boxoffice.models import Event, Order
from boxoffice.models.states import RefundStatus
from boxoffice.models.types import utcnow
from boxoffice.refunds.client import labels, start_refund


class EventActivities:
    """``checkout_task_queue``: where refund runs go; ``documents_task_queue``: where messages go;
    ``poll_interval_seconds``: how often a refund run asks its provider."""

    def __init__(
        self,
        db: Database,
        issuer: TicketIssuer,
        *,
        checkout_task_queue: str,
        documents_task_queue: str,
        poll_interval_seconds: int,
    ):
        self.db, self.issuer = db, issuer
        self.checkout_task_queue, self.documents_task_queue = checkout_task_queue, documents_task_queue
        self.poll_interval_seconds = poll_interval_seconds

    def _client(self) -> Client:
        return activity.client()

    async def _event(self, event_id: str) -> Event:
        async with self.db.session() as session:
            event = await session.get(Event, uuid.UUID(event_id))
        assert event is not None
        return event

    # --- cancellation -------------------------------------------------------------------------------------------

    @activity.defn(name="stop_checkouts")
    async def stop_checkouts(self, event_id: str) -> StopResult:
        """Release the cancelled event's unclaimed holds and stop its checkouts in progress: each buyer is told the
        event is cancelled, then the run is cancelled as an operator would (it unwinds; money captured meanwhile is
        refunded). Repeat-safe: a run already stopping is asked again, harmlessly."""
        async with typed_errors():
            event = await self._event(event_id)
            async with self.db.transaction() as session:
                released = await cancellation.release_unclaimed_holds(session, event.id, utcnow())
            async with self.db.session() as session:
                pending = await cancellation.pending_orders(session, event.id)
            stopping = 0
            for order_id in pending:
                await self._tell_cancelled(str(order_id), event)
                stopping += await stop_checkout(self._client(), str(order_id))
                activity.heartbeat(str(order_id))
            return StopResult(holds_released=released, checkouts_stopped=len(pending), stopping=stopping)

    @activity.defn(name="next_orders")
    async def next_orders(self, page: OrderPage) -> list[str]:
        """The cancelled event's next orders still to settle (ids in order)."""
        async with self.db.session() as session:
            after = uuid.UUID(page.after) if page.after else None
            found = await cancellation.orders_to_handle(
                session, uuid.UUID(page.event_id), after=after, limit=page.limit
            )
        return [str(o) for o in found]

    @activity.defn(name="cancel_orders")
    async def cancel_orders(self, batch: OrderBatch) -> BatchResult:
        """Settle each order of the batch (see the module's docstring): refund recorded and its run started, or free
        tickets voided; then the buyer's cancellation message. Returns each outcome and the tally after them."""
        async with typed_errors():
            event = await self._event(batch.event_id)
            result = BatchResult()
            for order_id in batch.order_ids:
                result.outcomes.append(OrderOutcome(order_id, await self._cancel_order(uuid.UUID(order_id), event)))
                activity.heartbeat(order_id)
            result.tally = await self.tally_cancellation(batch.event_id)
            return result

    async def _cancel_order(self, order_id: uuid.UUID, event: Event) -> str:
        async with self.db.transaction() as session:
            settled = await cancellation.settle_order(session, order_id, event, utcnow())
            order = await session.get(Order, order_id)
            assert order is not None
            searchable = labels(order)
        if settled.outcome == "deferred":
            return settled.outcome  # its other refund settles first; a later pass comes back to it
        if settled.refund is not None and settled.refund.status != RefundStatus.SUCCEEDED:
            await start_refund(
                self._client(),
                str(settled.refund.id),
                searchable,
                task_queue=self.checkout_task_queue,
                poll_interval_seconds=self.poll_interval_seconds,
            )
        await self._tell_cancelled(str(order_id), event)
        if settled.refund is None:
            async with self.db.transaction() as session:
                await mark_notified(session, await cancellation.voided_tickets(session, order_id), utcnow())
        return settled.outcome

    async def _tell_cancelled(self, order_id: str, event: Event) -> None:
        message = MessageInput(
            kind="cancellation", order_id=order_id, key=order_id, reason=cancellation.message_reason(event)
        )
        await send_message(self._client(), message, task_queue=self.documents_task_queue)

    @activity.defn(name="tally_cancellation")
    async def tally_cancellation(self, event_id: str) -> Tally:
        """The cancellation as the database has it now (one snapshot)."""
        async with self.db.session() as session:
            await self.db.snapshot(session)
            return await cancellation.tally(session, uuid.UUID(event_id))

    # --- edits --------------------------------------------------------------------------------------------------

    @activity.defn(name="reissue_tickets")
    async def reissue_tickets(self, inp: ReissueInput) -> int:
        """Re-sign one batch of the event's tickets with its new validity; returns how many (fewer than the limit:
        none is left)."""
        async with typed_errors(), self.db.transaction() as session:
            return await changes.reissue_tickets(
                session, uuid.UUID(inp.event_id), self.issuer, now=utcnow(), limit=inp.limit
            )

    @activity.defn(name="orders_to_tell")
    async def orders_to_tell(self, page: ChangePage) -> list[str]:
        """The edited event's next orders whose buyers to tell (none once the edit is superseded)."""
        async with self.db.session() as session:
            after = uuid.UUID(page.after) if page.after else None
            found = await changes.orders_to_tell(
                session, uuid.UUID(page.event_id), page.revision, after=after, limit=page.limit
            )
        return [str(o) for o in found]

    @activity.defn(name="tell_buyers")
    async def tell_buyers(self, batch: ChangeBatch) -> int:
        """Each order's buyer gets the tickets as they are now (PDF re-rendered first), once per order and edit."""
        for order_id in batch.order_ids:
            message = MessageInput(
                kind=CHANGE_MESSAGE_KIND,
                order_id=order_id,
                key=f"{order_id}-event-{batch.revision}",
                refresh_pdf=True,
            )
            await send_message(self._client(), message, task_queue=self.documents_task_queue)
            activity.heartbeat(order_id)
        return len(batch.order_ids)
