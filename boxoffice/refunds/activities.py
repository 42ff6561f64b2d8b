"""Refund activities: every provider call keyed by our refund (and its failure count), so a retry cannot refund
twice; outcomes applied to the books in one transaction."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.db import Database
from boxoffice.failures import typed_errors
from boxoffice.fulfilment.client import send_message
from boxoffice.fulfilment.contract import MessageInput
from boxoffice.models import Refund, Transaction
from boxoffice.models.types import utcnow
from boxoffice.payments.base import PaymentState, ProviderError, RefundResult, RefundState
from boxoffice.payments.providers import Providers
from boxoffice.refunds import capture, settlement
from boxoffice.refunds.contract import RefundInput, RefundOutcome


class RefundActivities:
    """``documents_task_queue``: where the refund message to the buyer is sent from once a refund settles (none:
    no message, for tests of the refund steps alone)."""

    def __init__(self, db: Database, providers: Providers, documents_task_queue: str | None = None):
        self.db, self.providers, self.documents_task_queue = db, providers, documents_task_queue

    @activity.defn(name="prepare_capture_refund")
    async def prepare_capture_refund(self, inp: RefundInput) -> bool:
        """An automatic refund's first step: confirm what was captured (asking the provider when the caller did not
        say), then record the capture and the refund once. False when there is nothing to give back: the payment
        did not succeed, or the order was sold with it."""
        assert inp.capture is not None
        cap = inp.capture
        async with typed_errors():
            amount, currency = cap.amount, cap.currency
            if amount is None:
                async with self.db.session() as session:
                    txn = await capture.transaction_of(session, cap.order_id)
                if txn is None:
                    return False
                paid = await self.providers.check_payment(txn.provider, txn.reference, txn.provider_reference)
                if paid.state is not PaymentState.SUCCEEDED or not paid.amount:
                    return False
                amount, currency = paid.amount, paid.currency or txn.currency
            async with self.db.transaction() as session:
                refund_id = await capture.prepare_capture_refund(
                    session, cap, amount=amount, currency=currency or "", now=utcnow()
                )
            return refund_id is not None

    @activity.defn(name="execute_refund")
    async def execute_refund(self, refund_id: str) -> RefundOutcome:
        """Send the refund to the provider. A refund the provider refuses fails this activity, which Temporal
        retries (visible in the UI) with a fresh idempotency key; it is never marked done."""
        async with typed_errors():
            async with self.db.session() as session:
                req = await settlement.refund_request(session, refund_id)
                provider_name = await self._provider_of(session, refund_id)
            if done := await self._already_settled(refund_id):
                return done
            try:
                result = await self.providers.get(provider_name).refund_payment(req)
            except ProviderError as exc:
                if exc.retryable:
                    raise  # 5xx, 429, network: the same request (same idempotency key) is tried again
                # A refusal (4xx, or the provider not configured) is a failed attempt: recorded, then retried
                # under a new idempotency key, like a refund the provider accepted and later failed.
                result = RefundResult(RefundState.FAILED, error=f"{exc.code or 'refused'}: {exc}")
            return await self._apply(refund_id, result.state, result.provider_refund_id, result.error)

    @activity.defn(name="check_refund")
    async def check_refund(self, refund_id: str) -> RefundOutcome:
        """Re-read a pending refund from the provider and apply its outcome."""
        async with typed_errors():
            if done := await self._already_settled(refund_id):
                return done
            async with self.db.session() as session:
                req = await settlement.refund_request(session, refund_id)
                provider_name = await self._provider_of(session, refund_id)
                refund = await session.get(Refund, uuid.UUID(refund_id))
                assert refund is not None
            result = await self.providers.get(provider_name).verify_refund(refund.provider_refund_id or "", req)
            state, error = result.state, result.error
            if state is RefundState.PENDING and refund.provider_refund_id:
                # Some providers cannot be asked about a refund (Yoco): their signed, recorded refund webhook is
                # then the confirmation. Matched on the provider's refund id, so a stale event cannot settle it.
                async with self.db.session() as session:
                    recorded = await settlement.recorded_refund_outcome(
                        session, provider_name, refund.provider_refund_id
                    )
                if recorded is RefundState.SUCCEEDED:
                    state = recorded
                elif recorded is RefundState.FAILED:
                    state, error = recorded, error or "the provider reported the refund failed (refund webhook)"
            return await self._apply(refund_id, state, result.provider_refund_id, error, final=False)

    async def _provider_of(self, session: AsyncSession, refund_id: str) -> str:
        refund = await session.get(Refund, uuid.UUID(refund_id))
        assert refund is not None
        txn = await session.get(Transaction, refund.transaction_id)
        assert txn is not None
        return txn.provider

    async def _already_settled(self, refund_id: str) -> RefundOutcome | None:
        async with self.db.session() as session:
            refund = await session.get(Refund, uuid.UUID(refund_id))
        if refund is not None and refund.status == "succeeded":
            await self._announce(refund)  # a retry after the settling attempt failed to start the message
            return RefundOutcome(refund_id, "succeeded", refund.provider_refund_id)
        return None

    async def _announce(self, refund: Refund) -> None:
        """Tell the buyer about the settled refund, once (one message run per refund), with the order's PDF
        re-rendered first so refunded tickets are marked in it."""
        if self.documents_task_queue is None:
            return
        message = MessageInput(kind="refund", order_id=str(refund.order_id), key=str(refund.id), refresh_pdf=True)
        await send_message(activity.client(), message, task_queue=self.documents_task_queue)

    async def _apply(
        self,
        refund_id: str,
        state: RefundState,
        provider_refund_id: str | None,
        error: str | None,
        *,
        final: bool = True,
    ) -> RefundOutcome:
        now = utcnow()
        async with self.db.transaction() as session:
            settled: Refund | None = None
            if state is RefundState.SUCCEEDED:
                settled = await settlement.settle_refund(session, refund_id, provider_refund_id, now)
            elif state is RefundState.PENDING:
                await settlement.mark_refund_pending(session, refund_id, provider_refund_id, now)
            else:
                await settlement.mark_refund_failed(session, refund_id, error or "refused by the provider", now)
        if settled is not None:
            await self._announce(settled)
        if state is RefundState.FAILED and final:
            raise ApplicationError(f"the provider refused refund {refund_id}: {error}", type="RefundFailed")
        return RefundOutcome(refund_id, state.value, provider_refund_id, error)
