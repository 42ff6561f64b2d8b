"""Payment activities: every provider call, keyed by our order or refund so a retry cannot pay twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.activities.errors import typed_errors
from boxoffice.db import Database
from boxoffice.messages import (
    AutoRefundInput,
    InitiatePaymentInput,
    PaymentCheck,
    PaymentSessionResult,
    RefundOutcome,
    VerifyPaymentInput,
)
from boxoffice.messages import CheckoutErrors as E
from boxoffice.models import Order, Refund, Transaction
from boxoffice.models.types import utcnow
from boxoffice.payments.base import LineItem, PaymentRequest, ProviderError, RefundResult, RefundState
from boxoffice.providers import Providers
from boxoffice.services import orders, refunds
from boxoffice.services.orders import CheckoutFailure


class PaymentActivities:
    def __init__(self, db: Database, providers: Providers, public_url: str):
        self.db, self.providers, self.public_url = db, providers, public_url

    @activity.defn(name="initiate_payment")
    async def initiate_payment(self, inp: InitiatePaymentInput) -> PaymentSessionResult:
        """Open the provider's payment page for the order (idempotent by order) and record it.

        The checkout passes what the page shows (``open_order``'s ``PaymentDraft``); only whether a page was
        recorded already is read.
        """
        async with typed_errors():
            async with self.db.session() as session:
                txn = await orders.get_transaction(session, inp.order_id)
                assert txn is not None
                if txn.provider_reference and txn.payment_url:
                    return PaymentSessionResult(payment_url=txn.payment_url, provider_reference=txn.provider_reference)
            draft = inp.payment
            provider = self.providers.get(draft.provider)
            caps = provider.capabilities
            if caps.currencies is not None and draft.currency not in caps.currencies:
                raise CheckoutFailure(
                    E.CURRENCY_UNSUPPORTED,
                    f"{draft.provider} does not take {draft.currency}",
                    code="currency_unsupported",
                    status=422,
                )
            back = inp.return_url or f"{self.public_url}/checkout/complete?order_id={inp.order_id}"
            req = PaymentRequest(
                order_id=inp.order_id,
                reference=draft.reference,
                amount=draft.amount,
                currency=draft.currency,
                email=draft.email,
                description=draft.description,
                return_url=back,
                cancel_url=back,
                expires_at=datetime.fromisoformat(draft.expires_at),
                line_items=tuple(LineItem(ln.name, ln.unit_amount, ln.quantity) for ln in draft.lines),
                metadata={"order_id": inp.order_id, "reference": draft.reference},
                idempotency_key=f"checkout-{inp.order_id}",
            )
            session_ = await provider.initiate_payment(req)
            if not session_.payment_url:
                # Paystack cannot give back the single-use page of a payment created by a lost reply: fail fast
                # rather than wait out the window on a page nobody can open.
                raise CheckoutFailure(
                    E.PROVIDER_REJECTED,
                    f"{draft.provider} did not return a payment page for this order; start a new checkout",
                    code="payment_page_unavailable",
                    status=502,
                )
            async with self.db.transaction() as session:
                await orders.record_payment_session(
                    session,
                    inp.order_id,
                    provider_reference=session_.provider_reference,
                    payment_url=session_.payment_url,
                    now=utcnow(),
                )
            return PaymentSessionResult(
                payment_url=session_.payment_url, provider_reference=session_.provider_reference
            )

    @activity.defn(name="expire_payment")
    async def expire_payment(self, order_id: str) -> None:
        """Compensation: close the order's payment page where the provider allows it (Stripe), so a checkout
        that gave up cannot be paid afterwards. Idempotent."""
        async with typed_errors():
            async with self.db.session() as session:
                txn = await orders.get_transaction(session, order_id)
            if txn is not None and txn.provider_reference:
                await self.providers.get(txn.provider).cancel_payment(txn.reference, txn.provider_reference)

    @activity.defn(name="verify_payment")
    async def verify_payment(self, inp: VerifyPaymentInput) -> PaymentCheck:
        """Ask the provider what happened to the order's payment (webhooks are only hints)."""
        async with typed_errors():
            if inp.provider and inp.reference:
                provider, reference, provider_ref = inp.provider, inp.reference, inp.provider_reference
            else:
                async with self.db.session() as session:
                    txn = await orders.get_transaction(session, inp.order_id)
                assert txn is not None
                provider, reference, provider_ref = txn.provider, txn.reference, txn.provider_reference
            result = await self.providers.get(provider).verify_payment(reference, provider_ref or reference)
            return PaymentCheck(
                state=result.state.value,
                amount=result.amount,
                currency=(result.currency or "").upper() or None,
                provider_transaction_id=result.provider_transaction_id,
                error=result.error,
            )

    @activity.defn(name="prepare_refund_of_capture")
    async def prepare_refund_of_capture(self, inp: AutoRefundInput) -> str:
        """Record money captured for an order we cannot fulfil and the refund that returns it. Idempotent.
        Returns "" when the order was fulfilled with this payment after all (nothing to give back)."""
        async with typed_errors(), self.db.transaction() as session:
            order = await session.get(Order, uuid.UUID(inp.order_id), with_for_update=True)
            if order is None or order.status in ("paid", "fulfilled", "refunded"):
                return ""
            await orders.record_late_capture(
                session,
                inp.order_id,
                amount=inp.amount,
                currency=inp.currency,
                provider_transaction_id=None,
                now=utcnow(),
            )
            refund = await refunds.create_auto_refund(
                session, inp.order_id, amount=inp.amount, currency=inp.currency, reason=inp.reason, now=utcnow()
            )
            return str(refund.id)

    @activity.defn(name="execute_refund")
    async def execute_refund(self, refund_id: str) -> RefundOutcome:
        """Send the refund to the provider. A refund the provider refuses fails this activity, which Temporal
        retries (visible in the UI) with a fresh idempotency key; it is never marked done."""
        async with typed_errors():
            async with self.db.session() as session:
                req = await refunds.refund_request(session, refund_id)
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
                req = await refunds.refund_request(session, refund_id)
                provider_name = await self._provider_of(session, refund_id)
                refund = await session.get(Refund, uuid.UUID(refund_id))
                assert refund is not None
            result = await self.providers.get(provider_name).verify_refund(refund.provider_refund_id or "", req)
            state, error = result.state, result.error
            if state is RefundState.PENDING and refund.provider_refund_id:
                # Some providers cannot be asked about a refund (Yoco): their signed, recorded refund webhook is
                # then the confirmation. Matched on the provider's refund id, so a stale event cannot settle it.
                async with self.db.session() as session:
                    recorded = await refunds.recorded_refund_outcome(session, provider_name, refund.provider_refund_id)
                if recorded is RefundState.SUCCEEDED:
                    state = recorded
                elif recorded is RefundState.FAILED:
                    state, error = recorded, error or "the provider reported the refund failed (refund webhook)"
            return await self._apply(refund_id, state, result.provider_refund_id, error, final=False)

    async def _provider_of(self, session: object, refund_id: str) -> str:
        refund = await session.get(Refund, uuid.UUID(refund_id))  # type: ignore[attr-defined]
        txn = await session.get(Transaction, refund.transaction_id)  # type: ignore[attr-defined]
        return txn.provider  # type: ignore[no-any-return]

    async def _already_settled(self, refund_id: str) -> RefundOutcome | None:
        async with self.db.session() as session:
            refund = await session.get(Refund, uuid.UUID(refund_id))
        if refund is not None and refund.status == "succeeded":
            return RefundOutcome(refund_id, "succeeded", refund.provider_refund_id)
        return None

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
            if state is RefundState.SUCCEEDED:
                await refunds.settle_refund(session, refund_id, provider_refund_id, now)
            elif state is RefundState.PENDING:
                await refunds.mark_refund_pending(session, refund_id, provider_refund_id, now)
            else:
                await refunds.mark_refund_failed(session, refund_id, error or "refused by the provider", now)
        if state is RefundState.FAILED and final:
            raise ApplicationError(f"the provider refused refund {refund_id}: {error}", type="RefundFailed")
        return RefundOutcome(refund_id, state.value, provider_refund_id, error)
