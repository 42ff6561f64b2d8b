"""The provider interface every payment provider implements (sandbox, Paystack, Yoco, Stripe).

Provider-neutral result dataclasses in the shape of saleor's ``GatewayResponse``, capability flags as in
pretix, and no dependency on tables, settings or web-request objects: clients get credentials and base URLs
through their constructors. Raise ``ProviderError`` (with ``retryable``) for failed calls,
``ProviderUnavailable`` when a provider has no credentials, and ``InvalidSignature`` from ``parse_webhook``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ProviderName(StrEnum):
    SANDBOX = "sandbox"
    PAYSTACK = "paystack"
    YOCO = "yoco"
    STRIPE = "stripe"


def payment_reference(order_id: str) -> str:
    """Our reference for an order's payment, deterministic so a retried call cannot create a second payment.
    Letters, digits and ``-`` only (Paystack's rule)."""
    return f"bo-{order_id}"


def order_id_from_reference(reference: str) -> str | None:
    return reference[3:] if reference.startswith("bo-") else None


@dataclass(frozen=True)
class Capabilities:
    partial_refunds: bool
    currencies: frozenset[str] | None  # None: any ISO 4217 currency
    supports_expiry: bool  # the provider can be told when the payment page expires
    refund_confirmed_by_webhook: bool  # a refund reply is only "pending" until a webhook or a re-read


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount: int
    quantity: int


@dataclass(frozen=True)
class PaymentRequest:
    order_id: str
    reference: str  # payment_reference(order_id)
    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    email: str
    description: str
    return_url: str  # where the buyer goes after paying
    cancel_url: str  # where the buyer goes after cancelling or failing
    expires_at: datetime | None = None
    line_items: tuple[LineItem, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str = ""  # derived from the order, e.g. "checkout-{order_id}"


@dataclass(frozen=True)
class PaymentSession:
    provider_reference: str  # the provider's id for this payment attempt (cs_…, ch_…, or our reference)
    payment_url: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)


class PaymentState(StrEnum):
    PENDING = "pending"  # not paid yet; may still be paid
    SUCCEEDED = "succeeded"  # money captured
    FAILED = "failed"  # declined or abandoned; will not be paid
    EXPIRED = "expired"  # the payment page expired unpaid


@dataclass(frozen=True)
class PaymentResult:
    state: PaymentState
    amount: int | None = None
    currency: str | None = None
    provider_transaction_id: str | None = None  # the id a refund needs (pi_…, Paystack id/reference, Yoco p_…)
    error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    reference: str  # our payment reference
    provider_reference: str  # PaymentSession.provider_reference
    provider_transaction_id: str | None
    amount: int  # minor units, ≤ what remains refundable
    currency: str
    reason: str | None = None
    idempotency_key: str = ""  # e.g. "refund-{refund_id}"


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RefundResult:
    state: RefundState
    provider_refund_id: str | None = None
    amount: int | None = None
    error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_EXPIRED = "payment_expired"
    REFUND_PENDING = "refund_pending"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    IGNORED = "ignored"  # authentic, but of a type we do not act on


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider notification, mapped to our terms. A hint only: confirm with the provider."""

    provider: str
    event_id: str  # the provider's event id (our dedupe key); derived from the body when there is none
    kind: EventKind
    raw_type: str
    reference: str | None = None  # our payment reference, when the event carries it
    provider_reference: str | None = None  # the provider's payment-attempt id (checkout/session id)
    provider_transaction_id: str | None = None
    provider_refund_id: str | None = None
    refund_id: str | None = None  # our refund id, where the provider echoes it (Stripe metadata, Paystack note)
    amount: int | None = None
    currency: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class ProviderError(Exception):
    """A provider call failed. ``retryable`` says whether trying again may succeed (5xx, 429, network)."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.retryable, self.status, self.code = retryable, status, code


class ProviderUnavailable(ProviderError):
    """The provider is not configured (no credentials)."""

    def __init__(self, provider: str, missing: str):
        super().__init__(f"{provider} is not configured: set {missing}", retryable=False, code="provider_unavailable")
        self.provider, self.missing = provider, missing


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or headers do not verify."""


class PaymentProvider(Protocol):
    name: str
    capabilities: Capabilities

    async def initiate_payment(self, req: PaymentRequest) -> PaymentSession: ...

    async def verify_payment(self, reference: str, provider_reference: str) -> PaymentResult: ...

    async def cancel_payment(self, reference: str, provider_reference: str) -> None:
        """Close the payment page so it can no longer be paid (a no-op where the provider has no such call)."""
        ...

    async def refund_payment(self, req: RefundRequest) -> RefundResult: ...

    async def verify_refund(self, provider_refund_id: str, req: RefundRequest) -> RefundResult: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent: ...

    async def aclose(self) -> None: ...
