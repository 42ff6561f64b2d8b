"""The checkout's payment steps: every provider call keyed by our order, so a retry cannot pay twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col
from temporalio import activity

from boxoffice.checkout import orders
from boxoffice.checkout.contract import InitiatePaymentInput, PaymentCheck, PaymentSessionResult, VerifyPaymentInput
from boxoffice.db import Database
from boxoffice.failures import typed_errors
from boxoffice.models import Order, Transaction
from boxoffice.models.types import utcnow
from boxoffice.payments.base import LineItem, PaymentRequest, ProviderError
from boxoffice.payments.providers import Providers
from boxoffice.sandbox.links import checkout_complete_url


class PaymentActivities:
    def __init__(self, db: Database, providers: Providers, public_url: str, link_secret: str):
        """``link_secret`` signs the page buyers return to (``sandbox.links``): the API's JWT secret."""
        self.db, self.providers, self.public_url, self.link_secret = db, providers, public_url, link_secret

    @activity.defn(name="initiate_payment")
    async def initiate_payment(self, inp: InitiatePaymentInput) -> PaymentSessionResult:
        """Open the provider's payment page for the order (idempotent by order) and record it.

        The checkout passes what the page shows (``open_order``'s ``PaymentDraft``); only whether a page was
        recorded already and the buyer's e-mail address (kept out of the history: issue 11) are read, in one query.
        """
        async with typed_errors():
            async with self.db.session() as session:
                row = (
                    await session.execute(
                        select(Transaction, col(Order.buyer_email))
                        .join(Order, col(Order.id) == col(Transaction.order_id))
                        .where(col(Transaction.order_id) == uuid.UUID(inp.order_id))
                    )
                ).one()
                txn, email = row[0], row[1]
                if txn.provider_reference and txn.payment_url:
                    return PaymentSessionResult(payment_url=txn.payment_url, provider_reference=txn.provider_reference)
            draft = inp.payment
            provider = self.providers.get(draft.provider)
            orders.ensure_currency(provider, draft.currency)
            back = inp.return_url or checkout_complete_url(self.public_url, self.link_secret, inp.order_id)
            req = PaymentRequest(
                order_id=inp.order_id,
                reference=draft.reference,
                amount=draft.amount,
                currency=draft.currency,
                email=email,
                description=draft.description,
                return_url=back,
                cancel_url=back,
                expires_at=datetime.fromisoformat(draft.expires_at),
                line_items=tuple(LineItem(ln.name, ln.unit_amount, ln.quantity) for ln in draft.lines),
                metadata={"order_id": inp.order_id, "reference": draft.reference},
                idempotency_key=f"checkout-{inp.order_id}",
            )
            page = await provider.initiate_payment(req)
            if not page.payment_url:
                # Paystack cannot give back the single-use page of a payment created by a lost reply: fail fast
                # (final: asking again gives no page either) rather than wait out the window on a page nobody can
                # open.
                raise ProviderError(
                    f"{draft.provider} did not return a payment page for this order; start a new checkout",
                    retryable=False,
                    code="payment_page_unavailable",
                )
            async with self.db.transaction() as session:
                await orders.record_payment_session(
                    session,
                    inp.order_id,
                    provider_reference=page.provider_reference,
                    payment_url=page.payment_url,
                    now=utcnow(),
                )
            return PaymentSessionResult(payment_url=page.payment_url, provider_reference=page.provider_reference)

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
            result = await self.providers.check_payment(inp.provider, inp.reference, inp.provider_reference)
            return PaymentCheck(
                state=result.state.value,
                amount=result.amount,
                currency=result.currency,
                provider_transaction_id=result.provider_transaction_id,
                error=result.error,
            )
