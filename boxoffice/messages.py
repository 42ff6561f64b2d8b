"""Names and message dataclasses shared by workflows, activities, the API and the worker.

Dependency-free on purpose: workflow code imports it inside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHECKOUT_TASK_QUEUE = "boxoffice-checkout"
DOCUMENTS_TASK_QUEUE = "boxoffice-documents"
HOLD_EXPIRY_SCHEDULE_ID = "hold-expiry-sweeper"


def checkout_workflow_id(order_id: str) -> str:
    return f"checkout-{order_id}"


def refund_workflow_id(refund_id: str) -> str:
    return f"refund-{refund_id}"


def fulfillment_workflow_id(order_id: str) -> str:
    return f"fulfillment-{order_id}"


@dataclass
class ExpireHoldsInput:
    limit: int = 1000


@dataclass
class ExpireHoldsResult:
    expired: int


# --- checkout ---------------------------------------------------------------------------------------------

SIGNAL_PAYMENT_EVENT = "payment_event"
UPDATE_PAYMENT_SESSION = "payment_session"
UPDATE_CANCEL = "cancel"
QUERY_STATUS = "status"


class CheckoutErrors:
    """``ApplicationError.type`` values a checkout can fail with; the API maps each to a problem code."""

    HOLD_NOT_FOUND = "HoldNotFound"
    HOLD_EXPIRED = "HoldExpired"
    HOLD_UNAVAILABLE = "HoldUnavailable"
    MIXED_EVENTS = "MixedEvents"
    PRICE_BELOW_MINIMUM = "PriceBelowMinimum"
    INVALID_PRICE = "InvalidPrice"
    PROVIDER_UNAVAILABLE = "ProviderUnavailable"
    PROVIDER_REJECTED = "ProviderRejected"
    CURRENCY_UNSUPPORTED = "CurrencyUnsupported"
    NOT_CANCELLABLE = "NotCancellable"
    AMOUNT_MISMATCH = "AmountMismatch"
    HOLDS_LOST = "HoldsLost"


@dataclass
class Attendee:
    name: str
    email: str


@dataclass
class CheckoutInput:
    order_id: str
    organization_id: str
    event_id: str
    user_id: str
    hold_ids: list[str]
    provider: str
    buyer_email: str
    buyer_name: str
    request_hash: str
    attendees: list[Attendee] = field(default_factory=list)
    unit_prices_cents: dict[str, int] = field(default_factory=dict)
    tip_cents: int = 0
    return_url: str | None = None
    idempotency_key: str | None = None
    payment_window_seconds: int = 900
    poll_interval_seconds: int = 30
    late_payment_grace_seconds: int = 3600
    documents_task_queue: str = DOCUMENTS_TASK_QUEUE


@dataclass
class OpenOrderInput:
    checkout: CheckoutInput
    window_closes_at: str  # ISO 8601: the end of the payment window (the holds' own expiry may come sooner)


@dataclass
class OrderSummary:
    order_id: str
    status: str
    total_amount: int
    currency: str
    reference: str
    expires_at: str
    payment_url: str | None = None
    request_hash: str = ""


@dataclass
class PaymentLine:
    name: str
    unit_amount: int
    quantity: int


@dataclass
class PaymentDraft:
    """What the provider's payment page shows, priced when the order was created (so nothing is read again)."""

    provider: str
    reference: str
    amount: int
    currency: str
    email: str
    description: str
    expires_at: str
    lines: list[PaymentLine] = field(default_factory=list)


@dataclass
class OpenOrderResult:
    """The order, and (unless it is free) what its payment page needs; ``expires_at`` is the payment deadline."""

    summary: OrderSummary
    payment: PaymentDraft | None = None


@dataclass
class InitiatePaymentInput:
    order_id: str
    payment: PaymentDraft
    return_url: str | None = None


@dataclass
class PaymentSessionResult:
    payment_url: str | None
    provider_reference: str


@dataclass
class VerifyPaymentInput:
    order_id: str
    # Known to the checkout run already; absent (other callers), they are read from the order's transaction.
    provider: str | None = None
    reference: str | None = None
    provider_reference: str | None = None


@dataclass
class PaymentCheck:
    """What the provider says (confirmed by a read, never taken from a webhook alone)."""

    state: str  # pending, succeeded, failed, expired
    amount: int | None = None
    currency: str | None = None
    provider_transaction_id: str | None = None
    error: str | None = None


@dataclass
class PaymentEventSignal:
    """A hint from a webhook: something happened to the payment; the workflow confirms with the provider."""

    provider: str
    event_id: str
    kind: str
    amount: int | None = None
    currency: str | None = None


@dataclass
class CompleteOrderInput:
    order_id: str
    amount: int
    currency: str
    provider_transaction_id: str | None


@dataclass
class CompleteOrderResult:
    ticket_ids: list[str]
    status: str


@dataclass
class CancelOrderInput:
    order_id: str
    reason: str


@dataclass
class RecordLateCaptureInput:
    order_id: str
    amount: int
    currency: str
    provider_transaction_id: str | None


@dataclass
class AutoRefundInput:
    order_id: str
    amount: int
    currency: str
    reason: str


@dataclass
class AutoRefundResult:
    refund_id: str
    status: str


@dataclass
class CancelResult:
    status: str
    cancelled: bool


@dataclass
class CheckoutStatus:
    order_id: str
    status: str
    payment_url: str | None
    cancelled_reason: str | None = None


@dataclass
class CheckoutResult:
    order_id: str
    status: str  # fulfilled/paid, or cancelled
    reason: str | None = None
    ticket_ids: list[str] = field(default_factory=list)
    refunded: bool = False


@dataclass
class FulfillmentInput:
    order_id: str


@dataclass
class FulfillmentResult:
    order_id: str
    pdf_location: str | None
    emailed_to: str | None


@dataclass
class LatePaymentInput:
    order_id: str
    event_id: str = ""
    poll_interval_seconds: int = 30


def late_payment_workflow_id(order_id: str) -> str:
    return f"late-payment-{order_id}"


WEBHOOK_RELAY_SCHEDULE_ID = "webhook-relay"


@dataclass
class RelayInput:
    older_than_seconds: int = 10


@dataclass
class RelayResult:
    delivered: int
    failed: int


@dataclass
class RefundOutcome:
    refund_id: str
    state: str  # pending, succeeded, failed
    provider_refund_id: str | None = None
    error: str | None = None
