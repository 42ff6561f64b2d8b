"""Yoco client (https://developer.yoco.com): hosted checkouts, checkout refunds, and Standard Webhooks signatures.
Facts follow docs/providers.md; much of Yoco's reply shapes is *unverified* and coded defensively (marked below)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from standardwebhooks import Webhook

from boxoffice.payments.base import (
    Capabilities,
    EventKind,
    InvalidSignature,
    PaymentRequest,
    PaymentResult,
    PaymentSession,
    PaymentState,
    ProviderError,
    ProviderName,
    RefundRequest,
    RefundResult,
    RefundState,
    WebhookEvent,
)
from boxoffice.payments.http import ProviderHttp, as_dict, as_int, lower_headers, upper

# Yoco rejects webhooks older than 3 minutes; the standardwebhooks package only enforces 5, so we check again.
WEBHOOK_TOLERANCE_SECONDS = 180

# Checkout status (*unverified* beyond "created"): Yoco's docs say to trust the payment.succeeded webhook, so a read is
# only a fallback. Unknown statuses are PENDING so we never give up on (or ticket) a payment by guesswork.
_CHECKOUT_STATES = {
    "completed": PaymentState.SUCCEEDED,
    "succeeded": PaymentState.SUCCEEDED,
    "expired": PaymentState.EXPIRED,
    "failed": PaymentState.FAILED,
    "cancelled": PaymentState.FAILED,
    "canceled": PaymentState.FAILED,
}
_EVENT_KINDS = {
    "payment.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment.failed": EventKind.PAYMENT_FAILED,  # *unverified* event type
    "refund.succeeded": EventKind.REFUND_SUCCEEDED,
    "refund.failed": EventKind.REFUND_FAILED,
}


def _parse_error(body: Any) -> tuple[str | None, str | None]:
    # Yoco's error body shape is *unverified*: take the first message-like and code-like fields present.
    if not isinstance(body, dict):
        return None, None
    message = next((body[k] for k in ("message", "errorMessage", "description", "displayMessage") if body.get(k)), None)
    code = next((body[k] for k in ("code", "errorCode", "errorType") if body.get(k)), None)
    return (str(message) if message else None), (str(code) if code else None)


class YocoProvider:
    """Yoco behind ``PaymentProvider``. The provider reference is the checkout id (``ch_…``)."""

    name = ProviderName.YOCO.value
    capabilities = Capabilities(
        partial_refunds=True, currencies=frozenset({"ZAR"}), supports_expiry=False, refund_confirmed_by_webhook=True
    )

    def __init__(
        self, secret_key: str, base_url: str, webhook_secret: str, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self._webhook = Webhook(webhook_secret)  # fails fast on a malformed whsec_ secret
        self._http = ProviderHttp(self.name, base_url, secret_key, _parse_error, http_client)

    async def initiate_payment(self, req: PaymentRequest) -> PaymentSession:
        """Create the checkout; retries with the same idempotency key return the same checkout."""
        if req.currency.upper() != "ZAR":
            raise ProviderError(f"yoco does not take {req.currency}", retryable=False, code="unsupported_currency")
        payload = {
            "amount": req.amount,
            "currency": "ZAR",
            "successUrl": req.return_url,
            "cancelUrl": req.cancel_url,
            "failureUrl": req.cancel_url,
            "metadata": {**req.metadata, "orderId": req.order_id, "reference": req.reference},
        }
        body = await self._http.request(
            "POST", "/checkouts", json=payload, headers={"Idempotency-Key": req.idempotency_key or req.reference}
        )
        if not body.get("id"):
            raise ProviderError("yoco: checkout reply without an id", retryable=False, code="bad_reply")
        return PaymentSession(provider_reference=str(body["id"]), payment_url=body.get("redirectUrl"), raw=body)

    async def verify_payment(self, reference: str, provider_reference: str) -> PaymentResult:
        """The checkout's state read from Yoco (endpoint and shape *unverified*); unknown statuses read as PENDING."""
        body = await self._http.request("GET", f"/checkouts/{provider_reference}")
        state = _CHECKOUT_STATES.get(str(body.get("status") or "").lower(), PaymentState.PENDING)
        payment_id = body.get("paymentId")  # *unverified* field name
        return PaymentResult(
            state=state,
            amount=as_int(body.get("amount")),
            currency=upper(body.get("currency")),
            provider_transaction_id=str(payment_id) if payment_id else provider_reference,
            error=str(body.get("status")) if state is PaymentState.FAILED else None,
            raw=body,
        )

    async def refund_payment(self, req: RefundRequest) -> RefundResult:
        """Request a (partial) refund of the checkout. Always PENDING on success: the outcome arrives by webhook."""
        body = await self._http.request(
            "POST",
            f"/checkouts/{req.provider_reference}/refund",
            json={"amount": req.amount},
            headers={"Idempotency-Key": req.idempotency_key or f"refund-{req.refund_id}"},
        )
        refund_id = body.get("refundId")
        # The 202 reply's "status": "successful" means the request was accepted, not that money moved.
        return RefundResult(
            state=RefundState.PENDING,
            provider_refund_id=str(refund_id) if refund_id else None,
            amount=req.amount,
            raw=body,
        )

    async def verify_refund(self, provider_refund_id: str, req: RefundRequest) -> RefundResult:
        """Yoco documents no refund read, so this is always PENDING; only refund.succeeded/failed webhooks settle it."""
        return RefundResult(state=RefundState.PENDING, provider_refund_id=provider_refund_id, amount=req.amount)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify the Standard Webhooks signature over the raw body (3-minute window), then map the event.

        Raises ``InvalidSignature`` for missing headers, a wrong signature or secret, or a stale or future timestamp."""
        lowered = lower_headers(headers)
        try:
            self._webhook.verify(body, lowered, json_parse=False)
            timestamp = float(lowered["webhook-timestamp"])
        except Exception as exc:  # the library raises several types (and ValueError on malformed headers)
            raise InvalidSignature(f"yoco: {exc}") from exc
        if timestamp < time.time() - WEBHOOK_TOLERANCE_SECONDS:
            raise InvalidSignature("yoco: webhook timestamp older than 3 minutes")
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise InvalidSignature("yoco: signed body is not JSON") from exc
        if not isinstance(event, dict):
            raise InvalidSignature("yoco: signed body is not a JSON object")
        raw_type = str(event.get("type") or "")
        payload = as_dict(event.get("payload"))
        metadata = as_dict(payload.get("metadata"))
        is_refund = raw_type.startswith("refund.")
        # Payment events: payload.id is the payment (p_…). Refund events (*unverified* shape): the refund id is
        # payload.refundId or payload.id, the payment payload.paymentId. Checkout metadata being copied into
        # payload.metadata (beyond checkoutId) is *unverified*: reference may be None, map by checkoutId.
        item_id = payload.get("id")
        refund_id = payload.get("refundId") or item_id
        payment_id = payload.get("paymentId") if is_refund else item_id
        return WebhookEvent(
            provider=self.name,
            event_id=str(event.get("id") or lowered.get("webhook-id")),
            kind=_EVENT_KINDS.get(raw_type, EventKind.IGNORED),
            raw_type=raw_type,
            reference=metadata.get("reference"),
            provider_reference=metadata.get("checkoutId"),
            provider_transaction_id=str(payment_id) if payment_id else None,
            provider_refund_id=str(refund_id) if is_refund and refund_id else None,
            amount=as_int(payload.get("amount")),
            currency=upper(payload.get("currency")),
            raw=event,
        )

    async def cancel_payment(self, reference: str, provider_reference: str) -> None:
        """No API closes a payment page here; a late payment is confirmed and refunded by the checkout instead."""

    async def aclose(self) -> None:
        """Release the HTTP client if this provider owns it."""
        await self._http.aclose()
