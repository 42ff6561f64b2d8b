"""Paystack client (https://paystack.com/docs/api): hosted checkout via transaction/initialize, verify, refunds, and
webhooks signed with HMAC-SHA512 of the raw body. Facts follow docs/providers.md; *unverified* items are marked."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

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

CURRENCIES = frozenset({"GHS", "KES", "NGN", "ZAR", "USD"})

# data.status of a transaction. Only "success" is documented; the rest are *unverified*. "abandoned" is what Paystack
# reports for a transaction that was initialised but not (yet) paid, and the buyer can still pay on the same page, so
# it is PENDING here, not FAILED: our checkout workflow's own timeout decides when an unpaid order is given up.
_PAYMENT_STATES = {
    "success": PaymentState.SUCCEEDED,
    "failed": PaymentState.FAILED,
    "reversed": PaymentState.FAILED,
    "abandoned": PaymentState.PENDING,
}
# Refund data.status (pending is documented; processing/processed/failed come from the event names).
_REFUND_STATES = {"processed": RefundState.SUCCEEDED, "failed": RefundState.FAILED}
_EVENT_KINDS = {
    "charge.success": EventKind.PAYMENT_SUCCEEDED,
    "refund.processed": EventKind.REFUND_SUCCEEDED,
    "refund.failed": EventKind.REFUND_FAILED,
    "refund.pending": EventKind.REFUND_PENDING,
    "refund.processing": EventKind.REFUND_PENDING,
}


def _parse_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, dict):
        return body.get("message"), body.get("code")
    return None, None


def refund_note(req: RefundRequest) -> str:
    """The merchant note for a refund; it carries our refund id, which is how a retried refund finds the first one."""
    return f"boxoffice refund {req.refund_id}" + (f": {req.reason}" if req.reason else "")


_NOTE = re.compile(r"^boxoffice refund ([0-9a-fA-F-]{36})")


def refund_id_in_note(note: object) -> str | None:
    """Our refund id, from a merchant note written by ``refund_note`` (Paystack echoes it on refund events)."""
    match = _NOTE.match(note) if isinstance(note, str) else None
    return match.group(1) if match else None


class PaystackProvider:
    """Paystack behind ``PaymentProvider``. The provider reference is our own reference (Paystack has no other)."""

    name = ProviderName.PAYSTACK.value
    capabilities = Capabilities(
        partial_refunds=True, currencies=CURRENCIES, supports_expiry=False, refund_confirmed_by_webhook=True
    )

    def __init__(self, secret_key: str, base_url: str, http_client: httpx.AsyncClient | None = None) -> None:
        self._secret = secret_key.encode()
        self._http = ProviderHttp(self.name, base_url, secret_key, _parse_error, http_client)

    async def initiate_payment(self, req: PaymentRequest) -> PaymentSession:
        """Create (or, on a retry, find) the transaction for ``req.reference``; never creates a second payment."""
        if req.currency.upper() not in CURRENCIES:
            raise ProviderError(f"paystack does not take {req.currency}", retryable=False, code="unsupported_currency")
        payload = {
            "email": req.email,
            "amount": req.amount,
            "currency": req.currency.upper(),
            "reference": req.reference,
            "callback_url": req.return_url,
            "metadata": {**req.metadata, "order_id": req.order_id, "reference": req.reference},
        }
        try:
            body = await self._http.request("POST", "/transaction/initialize", json=payload)
        except ProviderError as exc:
            if exc.code != "duplicate_reference":
                raise
            return await self._existing_session(req)
        data = body.get("data") or {}
        return PaymentSession(provider_reference=req.reference, payment_url=data.get("authorization_url"), raw=body)

    async def _existing_session(self, req: PaymentRequest) -> PaymentSession:
        # A retried activity whose first call reached Paystack: the reference is ours, so the payment exists. Verify
        # does not return the authorization URL (it is only in the initialize reply), so unless Paystack includes one
        # the session comes back with payment_url None: the caller must treat that as "payment exists, URL lost"
        # (poll verify / time out) rather than start another payment. Amount or currency drift means a bug upstream.
        body = await self._http.request("GET", f"/transaction/verify/{req.reference}")
        data = body.get("data") or {}
        if as_int(data.get("amount")) != req.amount or upper(data.get("currency")) != req.currency.upper():
            raise ProviderError(
                f"paystack: reference {req.reference} exists with a different amount or currency",
                retryable=False,
                code="reference_mismatch",
            )
        return PaymentSession(provider_reference=req.reference, payment_url=data.get("authorization_url"), raw=body)

    async def verify_payment(self, reference: str, provider_reference: str) -> PaymentResult:
        """The transaction's current state by our reference; unknown statuses read as PENDING."""
        body = await self._http.request("GET", f"/transaction/verify/{reference}")
        data = body.get("data") or {}
        status = str(data.get("status") or "")
        state = _PAYMENT_STATES.get(status, PaymentState.PENDING)
        return PaymentResult(
            state=state,
            amount=as_int(data.get("amount")),
            currency=upper(data.get("currency")),
            provider_transaction_id=str(data["id"]) if data.get("id") is not None else reference,
            error=data.get("gateway_response") if state is PaymentState.FAILED else None,
            raw=body,
        )

    async def refund_payment(self, req: RefundRequest) -> RefundResult:
        """Request a (partial) refund; a retry with the same refund id returns the first refund instead of a second.

        Paystack has no idempotency key for refunds, so before creating one we look for a refund on the same
        transaction whose merchant note carries our refund id (the list filter is *unverified*)."""
        existing = await self._find_refund(req)
        if existing is not None:
            return self._refund_result(existing, {"data": existing})
        payload = {
            "transaction": req.reference,
            "amount": req.amount,
            "currency": req.currency.upper(),
            "merchant_note": refund_note(req),
        }
        body = await self._http.request("POST", "/refund", json=payload)
        return self._refund_result(body.get("data") or {}, body)

    async def _find_refund(self, req: RefundRequest) -> dict[str, Any] | None:
        transaction = req.provider_transaction_id or req.reference
        body = await self._http.request("GET", "/refund", params=[("transaction", transaction), ("perPage", "100")])
        note = refund_note(req)
        for refund in body.get("data") or []:
            # A failed refund is not "the first refund" to hand back: a re-send after a failure must create a new
            # one, or the retry would read the old failure for ever.
            if isinstance(refund, dict) and refund.get("merchant_note") == note and refund.get("status") != "failed":
                return refund
        return None

    async def verify_refund(self, provider_refund_id: str, req: RefundRequest) -> RefundResult:
        """The refund's current state, re-read from Paystack."""
        body = await self._http.request("GET", f"/refund/{provider_refund_id}")
        return self._refund_result(body.get("data") or {}, body)

    @staticmethod
    def _refund_result(data: Mapping[str, Any], raw: Mapping[str, Any]) -> RefundResult:
        state = _REFUND_STATES.get(str(data.get("status") or ""), RefundState.PENDING)
        return RefundResult(
            state=state,
            provider_refund_id=str(data["id"]) if data.get("id") is not None else None,
            amount=as_int(data.get("amount")),
            error=str(data.get("status")) if state is RefundState.FAILED else None,
            raw=raw,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify ``x-paystack-signature`` over the raw body, then map the event. Raises ``InvalidSignature``.

        Paystack events have no id and no timestamp: the event id is derived from the content, so a redelivery of the
        same event gets the same id and is deduplicated by the caller."""
        signature = lower_headers(headers).get("x-paystack-signature", "").strip().lower()
        expected = hmac.new(self._secret, body, hashlib.sha512).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature):
            raise InvalidSignature("paystack: missing or wrong x-paystack-signature")
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise InvalidSignature("paystack: signed body is not JSON") from exc
        if not isinstance(event, dict):
            raise InvalidSignature("paystack: signed body is not a JSON object")
        raw_type = str(event.get("event") or "")
        data = as_dict(event.get("data"))
        is_refund = raw_type.startswith("refund.")
        # Charges carry data.reference; refunds data.transaction_reference. data.id is the refund id on refund events
        # and data.transaction the charge (both *unverified* for refunds).
        reference = data.get("transaction_reference") if is_refund else data.get("reference")
        metadata = as_dict(data.get("metadata"))
        reference = reference or metadata.get("reference")
        fingerprint = "|".join(
            str(x) for x in (raw_type, data.get("id"), reference, data.get("refund_reference"), data.get("status"))
        )
        item_id = str(data["id"]) if data.get("id") is not None else None
        transaction = data.get("transaction")
        if isinstance(transaction, dict):
            transaction = transaction.get("id")
        return WebhookEvent(
            provider=self.name,
            event_id="paystack-" + hashlib.sha256(fingerprint.encode()).hexdigest(),
            kind=_EVENT_KINDS.get(raw_type, EventKind.IGNORED),
            raw_type=raw_type,
            reference=reference,
            provider_reference=reference,
            provider_transaction_id=(str(transaction) if transaction is not None else None) if is_refund else item_id,
            provider_refund_id=item_id if is_refund else None,
            refund_id=refund_id_in_note(data.get("merchant_note")) if is_refund else None,
            amount=as_int(data.get("amount")),
            currency=upper(data.get("currency")),
            raw=event,
        )

    async def cancel_payment(self, reference: str, provider_reference: str) -> None:
        """No API closes a payment page here; a late payment is confirmed and refunded by the checkout instead."""

    async def aclose(self) -> None:
        """Release the HTTP client if this provider owns it."""
        await self._http.aclose()
