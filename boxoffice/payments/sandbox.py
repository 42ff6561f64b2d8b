"""The built-in sandbox provider: a real HTTP provider that our own API plays (``/sandbox/…``).

Its client speaks HTTP to the sandbox API like any provider client, and its webhooks are signed like
Stripe's: header ``x-sandbox-signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">``, 300 s tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
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

SIGNATURE_HEADER = "x-sandbox-signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None) -> None:
    if not header:
        raise InvalidSignature("missing x-sandbox-signature")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        raise InvalidSignature("malformed x-sandbox-signature") from None
    if abs((now or time.time()) - t) > TOLERANCE_SECONDS:
        raise InvalidSignature("stale webhook timestamp")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise InvalidSignature("signature mismatch")


_STATES = {"pending": PaymentState.PENDING, "succeeded": PaymentState.SUCCEEDED, "declined": PaymentState.FAILED}
_KINDS = {
    "payment.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment.declined": EventKind.PAYMENT_FAILED,
    "refund.succeeded": EventKind.REFUND_SUCCEEDED,
}


class SandboxProvider:
    name = ProviderName.SANDBOX.value
    capabilities = Capabilities(
        partial_refunds=True, currencies=None, supports_expiry=False, refund_confirmed_by_webhook=False
    )

    def __init__(self, base_url: str, secret: str, http: httpx.AsyncClient | None = None):
        self.base_url, self.secret = base_url.rstrip("/"), secret
        self._owns = http is None
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15, connect=5))

    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            r = await self.http.request(
                method, f"{self.base_url}/sandbox/api{path}", headers={"Authorization": f"Bearer {self.secret}"}, **kw
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"sandbox unreachable: {exc}", retryable=True) from exc
        if r.status_code >= 500 or r.status_code == 429:
            raise ProviderError(f"sandbox {r.status_code}", retryable=True, status=r.status_code)
        if r.status_code >= 400:
            raise ProviderError(f"sandbox {r.status_code}: {r.text[:200]}", retryable=False, status=r.status_code)
        return r.json()

    async def initiate_payment(self, req: PaymentRequest) -> PaymentSession:
        data = await self._call(
            "POST",
            "/payments",
            json={
                "reference": req.reference,
                "amount": req.amount,
                "currency": req.currency,
                "email": req.email,
                "description": req.description,
                "return_url": req.return_url,
                "cancel_url": req.cancel_url,
            },
        )
        return PaymentSession(provider_reference=data["reference"], payment_url=data["payment_url"], raw=data)

    async def verify_payment(self, reference: str, provider_reference: str) -> PaymentResult:
        data = await self._call("GET", f"/payments/{reference}")
        return PaymentResult(
            state=_STATES[data["status"]],
            amount=data["amount"],
            currency=data["currency"],
            provider_transaction_id=data["transaction_id"],
            raw=data,
        )

    async def cancel_payment(self, reference: str, provider_reference: str) -> None:
        """Like Paystack, the sandbox's page cannot be closed: late payments stay possible (and are refunded)."""

    async def refund_payment(self, req: RefundRequest) -> RefundResult:
        data = await self._call(
            "POST", "/refunds", json={"reference": req.reference, "amount": req.amount, "refund_id": req.refund_id}
        )
        return RefundResult(
            state=RefundState(data["status"]),
            provider_refund_id=data["id"],
            amount=data["amount"],
            error=data.get("error"),
            raw=data,
        )

    async def verify_refund(self, provider_refund_id: str, req: RefundRequest) -> RefundResult:
        return await self.refund_payment(req)  # idempotent by refund id: a repeat reads the first outcome

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        lower = {k.lower(): v for k, v in headers.items()}
        verify(self.secret, lower.get(SIGNATURE_HEADER), body)
        try:
            doc = json.loads(body)
            data = doc["data"]
            return WebhookEvent(
                provider=self.name,
                event_id=doc["id"],
                kind=_KINDS.get(doc["type"], EventKind.IGNORED),
                raw_type=doc["type"],
                reference=data.get("reference"),
                provider_reference=data.get("reference"),
                provider_transaction_id=data.get("transaction_id"),
                provider_refund_id=data.get("refund_id"),
                amount=data.get("amount"),
                currency=data.get("currency"),
                raw=doc,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature(f"malformed sandbox webhook body: {exc}") from None

    async def aclose(self) -> None:
        if self._owns:
            await self.http.aclose()
