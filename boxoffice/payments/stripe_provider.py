"""Stripe client (https://docs.stripe.com/api): Checkout Sessions, refunds, and ``Stripe-Signature`` webhooks verified
with the official ``stripe`` package. Named ``stripe_provider`` so it does not shadow that package."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import stripe

from boxoffice.money import from_stripe_amount, stripe_amount
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
    payment_reference,
)
from boxoffice.payments.http import ProviderHttp, as_dict, as_int, lower_headers, upper

WEBHOOK_TOLERANCE_SECONDS = 300
MIN_EXPIRY, MAX_EXPIRY = 30 * 60, 24 * 60 * 60
_EXPIRY_MARGIN = 120  # seconds kept clear of Stripe's window edges: its clock and ours differ, requests take time
_EXPIRY_STEP = 300  # clamped expiries are rounded to 5 minutes so a prompt retry sends identical parameters
MAX_LINE_ITEMS = 100

_REFUND_STATES = {
    "succeeded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}


def _parse_error(body: Any) -> tuple[str | None, str | None]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    return error.get("message"), error.get("code") or error.get("type")


def form_encode(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into Stripe's bracket keys (``a[b][0][c]=v``); ``None`` values are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs += form_encode(value, name)
        elif isinstance(value, list | tuple):
            pairs += form_encode({str(i): v for i, v in enumerate(value)}, name)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


def clamp_expiry(expires_at: datetime, now: float) -> int:
    """``expires_at`` as epoch seconds, moved into Stripe's 30 min..24 h window when it falls outside.

    A value inside the window is sent unchanged. A clamped one is rounded to a 5-minute step, so a retry of the same
    request within minutes sends the same ``expires_at`` and Stripe's idempotency key does not see changed parameters.
    """
    wanted = int(expires_at.timestamp())
    low, high = now + MIN_EXPIRY + _EXPIRY_MARGIN, now + MAX_EXPIRY - _EXPIRY_MARGIN
    if wanted < low:
        return int(-(-low // _EXPIRY_STEP) * _EXPIRY_STEP)  # round up: never shorter than Stripe allows
    if wanted > high:
        return int(high // _EXPIRY_STEP * _EXPIRY_STEP)  # round down: never longer than Stripe allows
    return wanted


def to_stripe(amount: int, currency: str) -> int:
    """ISO minor units → Stripe's amount for ``currency`` (zero-decimal, three-decimal and ISK/UGX rules); an amount
    Stripe cannot take (5.125 KWD) is a ProviderError that no retry can fix, never a rounded charge."""
    try:
        return stripe_amount(amount, currency)
    except ValueError as exc:
        raise ProviderError(f"stripe: {exc}", retryable=False, code="amount_not_representable") from None


def from_stripe(amount: Any, currency: Any) -> int | None:
    """Stripe's ``amount`` in ISO minor units (None when absent or when it has no ISO form); an amount without a
    currency is passed on as it is (callers compare the currency too, and refuse a missing one)."""
    value, code = as_int(amount), upper(currency)
    if value is None or not code:
        return value
    try:
        return from_stripe_amount(value, code)
    except ValueError:  # an unknown currency, or a legacy fractional amount
        return None


def _line_items(req: PaymentRequest) -> list[dict[str, Any]]:
    currency = req.currency.lower()
    items = [(i.name, i.unit_amount, i.quantity) for i in req.line_items]
    if not items or len(items) > MAX_LINE_ITEMS:
        items = [(req.description or f"Order {req.order_id}", req.amount, 1)]
    if sum(unit * qty for _, unit, qty in items) != req.amount:
        raise ProviderError("stripe: line items do not add up to the amount", retryable=False, code="amount_mismatch")
    return [
        {
            "price_data": {
                "currency": currency,
                "unit_amount": to_stripe(unit, req.currency),
                "product_data": {"name": name},
            },
            "quantity": qty,
        }
        for name, unit, qty in items
    ]


def _expandable_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


class StripeProvider:
    """Stripe behind ``PaymentProvider``. The provider reference is the Checkout Session id (``cs_…``)."""

    name = ProviderName.STRIPE.value
    capabilities = Capabilities(
        partial_refunds=True, currencies=None, supports_expiry=True, refund_confirmed_by_webhook=False
    )

    def __init__(
        self, secret_key: str, base_url: str, webhook_secret: str, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = ProviderHttp(self.name, base_url, secret_key, _parse_error, http_client)

    async def initiate_payment(self, req: PaymentRequest) -> PaymentSession:
        """Create the Checkout Session; a retry with the same idempotency key returns the same session."""
        reference = {"order_id": req.order_id, "reference": req.reference}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": _line_items(req),
            "client_reference_id": req.order_id,
            "metadata": {**req.metadata, **reference},
            # Stripe does not copy session metadata to the payment intent; its events need the reference too.
            "payment_intent_data": {"metadata": reference},
            "customer_email": req.email or None,
            "success_url": req.return_url,
            "cancel_url": req.cancel_url,
            "expires_at": clamp_expiry(req.expires_at, time.time()) if req.expires_at else None,
        }
        key = req.idempotency_key or f"checkout-{req.order_id}"
        body = await self._http.request(
            "POST", "/checkout/sessions", form=form_encode(params), headers={"Idempotency-Key": key}
        )
        return PaymentSession(provider_reference=str(body["id"]), payment_url=body.get("url"), raw=body)

    async def cancel_payment(self, reference: str, provider_reference: str) -> None:
        """Expire the Checkout Session so the buyer can no longer pay it. A session that is no longer open
        (paid, already expired) answers 400, which is fine: whether it was paid is for verify to say."""
        try:
            await self._http.request("POST", f"/checkout/sessions/{provider_reference}/expire")
        except ProviderError as exc:
            if exc.retryable:
                raise

    async def verify_payment(self, reference: str, provider_reference: str) -> PaymentResult:
        """The session's state: paid → SUCCEEDED, expired → EXPIRED, a completed session whose (async) payment failed →
        FAILED, anything else PENDING (an open session can still be paid after a declined card)."""
        body = await self._http.request(
            "GET", f"/checkout/sessions/{provider_reference}", params=[("expand[]", "payment_intent")]
        )
        intent = body.get("payment_intent")
        intent_status = intent.get("status") if isinstance(intent, dict) else None
        if body.get("payment_status") == "paid" or (
            body.get("payment_status") == "no_payment_required" and body.get("status") == "complete"
        ):
            state = PaymentState.SUCCEEDED
        elif body.get("status") == "expired":
            state = PaymentState.EXPIRED
        elif body.get("status") == "complete" and intent_status in ("requires_payment_method", "canceled"):
            state = PaymentState.FAILED
        else:
            state = PaymentState.PENDING
        return PaymentResult(
            state=state,
            amount=from_stripe(body.get("amount_total"), body.get("currency")),
            currency=upper(body.get("currency")),
            provider_transaction_id=_expandable_id(intent),
            error=f"payment intent {intent_status}" if state is PaymentState.FAILED else None,
            raw=body,
        )

    async def refund_payment(self, req: RefundRequest) -> RefundResult:
        """Refund ``req.amount`` of the payment intent; the same idempotency key never refunds twice."""
        intent = req.provider_transaction_id
        if not intent:
            intent = (await self.verify_payment(req.reference, req.provider_reference)).provider_transaction_id
        if not intent:
            raise ProviderError("stripe: the session has no payment intent to refund", retryable=False, code="unpaid")
        params = {
            "payment_intent": intent,
            "amount": to_stripe(req.amount, req.currency),
            "metadata": {"refund_id": req.refund_id, "reference": req.reference, "reason": req.reason},
        }
        key = req.idempotency_key or f"refund-{req.refund_id}"
        body = await self._http.request("POST", "/refunds", form=form_encode(params), headers={"Idempotency-Key": key})
        return self._refund_result(body)

    async def verify_refund(self, provider_refund_id: str, req: RefundRequest) -> RefundResult:
        """The refund's current state, re-read from Stripe."""
        return self._refund_result(await self._http.request("GET", f"/refunds/{provider_refund_id}"))

    @staticmethod
    def _refund_result(body: Mapping[str, Any]) -> RefundResult:
        status = str(body.get("status") or "")
        state = _REFUND_STATES.get(status, RefundState.PENDING)  # pending, requires_action
        return RefundResult(
            state=state,
            provider_refund_id=body.get("id"),
            amount=from_stripe(body.get("amount"), body.get("currency")),
            error=(body.get("failure_reason") or status) if state is RefundState.FAILED else None,
            raw=body,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify ``Stripe-Signature`` over the raw body (300 s tolerance) with the stripe package, then map the event.
        Raises ``InvalidSignature`` on any verification failure."""
        signature = lower_headers(headers).get("stripe-signature")
        try:
            stripe.WebhookSignature.verify_header(body, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS)
            event = json.loads(body)
        except Exception as exc:  # SignatureVerificationError, undecodable bytes, non-JSON
            raise InvalidSignature(f"stripe: {exc}") from exc
        if not isinstance(event, dict):
            raise InvalidSignature("stripe: signed body is not a JSON object")
        return _map_event(self.name, event)

    async def aclose(self) -> None:
        """Release the HTTP client if this provider owns it."""
        await self._http.aclose()


_SESSION_KINDS = {
    "checkout.session.async_payment_succeeded": EventKind.PAYMENT_SUCCEEDED,
    "checkout.session.async_payment_failed": EventKind.PAYMENT_FAILED,
    "checkout.session.expired": EventKind.PAYMENT_EXPIRED,
}
_REFUND_EVENT_KINDS = {
    "succeeded": EventKind.REFUND_SUCCEEDED,
    "failed": EventKind.REFUND_FAILED,
    "canceled": EventKind.REFUND_FAILED,
}


def _map_event(provider: str, event: Mapping[str, Any]) -> WebhookEvent:
    """Map a verified Stripe event envelope to a ``WebhookEvent`` (a hint: the caller re-reads the session/refund)."""
    raw_type = str(event.get("type") or "")
    data = as_dict(event.get("data"))
    obj: dict[str, Any] = as_dict(data.get("object"))
    metadata = as_dict(obj.get("metadata"))
    kind = EventKind.IGNORED
    # Our refund id travels in the metadata we set on every refund we create.
    fields: dict[str, Any] = {"reference": metadata.get("reference"), "refund_id": metadata.get("refund_id")}
    if raw_type.startswith("checkout.session."):
        if raw_type == "checkout.session.completed":
            # Completed but unpaid means a delayed (async) method: the outcome comes as async_payment_succeeded|failed.
            paid = obj.get("payment_status") in ("paid", "no_payment_required")
            kind = EventKind.PAYMENT_SUCCEEDED if paid else EventKind.IGNORED
        else:
            kind = _SESSION_KINDS.get(raw_type, EventKind.IGNORED)
        client_ref = obj.get("client_reference_id")
        fields = {
            "reference": metadata.get("reference") or (payment_reference(client_ref) if client_ref else None),
            "refund_id": None,
            "provider_reference": obj.get("id"),
            "provider_transaction_id": _expandable_id(obj.get("payment_intent")),
            "amount": from_stripe(obj.get("amount_total"), obj.get("currency")),
        }
    elif raw_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        # A declined card in Checkout also sends payment_failed while the session stays open for another attempt, so
        # PAYMENT_FAILED here must be confirmed by verify_payment before the order is given up.
        kind = EventKind.PAYMENT_SUCCEEDED if raw_type.endswith("succeeded") else EventKind.PAYMENT_FAILED
        fields |= {
            "provider_transaction_id": obj.get("id"),
            "amount": from_stripe(obj.get("amount"), obj.get("currency")),
        }
    elif raw_type == "charge.refunded":
        # A charge: amount_refunded is cumulative; the refund list is only present on older API versions, and charge
        # metadata carrying the intent's metadata is *unverified*. Treat as a hint and re-read the refund.
        refunds = (obj.get("refunds") or {}).get("data") if isinstance(obj.get("refunds"), dict) else None
        last = refunds[0] if refunds and isinstance(refunds[0], dict) else {}
        kind = EventKind.REFUND_SUCCEEDED
        fields |= {
            "provider_transaction_id": _expandable_id(obj.get("payment_intent")),
            "provider_refund_id": last.get("id"),
            "amount": from_stripe(last.get("amount", obj.get("amount_refunded")), obj.get("currency")),
        }
    elif raw_type.startswith("refund."):
        status = str(obj.get("status") or "")
        kind = (
            EventKind.REFUND_FAILED
            if raw_type == "refund.failed"
            else _REFUND_EVENT_KINDS.get(status, EventKind.REFUND_PENDING)
        )
        fields |= {
            "provider_transaction_id": _expandable_id(obj.get("payment_intent")),
            "provider_refund_id": obj.get("id"),
            "amount": from_stripe(obj.get("amount"), obj.get("currency")),
        }
    return WebhookEvent(
        provider=provider,
        event_id=str(event.get("id") or ""),
        kind=kind,
        raw_type=raw_type,
        currency=upper(obj.get("currency")),
        raw=event,
        **fields,
    )
