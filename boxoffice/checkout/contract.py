"""The checkout flow's contract: its workflow id, message names, messages, failure types and search attributes.

Dependency-free on purpose (standard library and ``temporalio`` only): the workflow imports it inside the
sandbox, and routes, tests and other flows use it without importing the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.common import SearchAttributeKey

CHECKOUT_WORKFLOW = "CheckoutWorkflow"
UPDATE_PAYMENT_SESSION = "payment_session"
UPDATE_CANCEL = "cancel"
QUERY_STATUS = "status"

# What operators filter order-related runs by in the Temporal UI (checkouts, refunds, late payments).
SA_ORDER_ID = SearchAttributeKey.for_keyword("BoxofficeOrderId")
SA_EVENT_ID = SearchAttributeKey.for_keyword("BoxofficeEventId")
SA_ORGANIZATION_ID = SearchAttributeKey.for_keyword("BoxofficeOrganizationId")
SA_CHECKOUT_STATUS = SearchAttributeKey.for_keyword("BoxofficeCheckoutStatus")
SEARCH_ATTRIBUTES = [SA_ORDER_ID, SA_EVENT_ID, SA_ORGANIZATION_ID, SA_CHECKOUT_STATUS]


def checkout_workflow_id(order_id: str) -> str:
    return f"checkout-{order_id}"


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
class CheckoutInput:
    """What a checkout run needs, and no personal data (issue 11): the buyer's name and e-mail and the attendees
    wait in the ``checkout_drafts`` row of ``order_id`` until ``open_order`` moves them into the order."""

    order_id: str
    organization_id: str
    event_id: str
    user_id: str
    hold_ids: list[str]
    provider: str
    request_hash: str
    unit_prices_cents: dict[str, int] = field(default_factory=dict)
    tip_cents: int = 0
    return_url: str | None = None
    idempotency_key: str | None = None
    payment_window_seconds: int = 900
    poll_interval_seconds: int = 30
    late_payment_grace_seconds: int = 3600


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
    total_text: str = ""  # the total as people read it ("ZAR 150.00"), for operators' labels


@dataclass
class PaymentLine:
    name: str
    unit_amount: int
    quantity: int


@dataclass
class PaymentDraft:
    """What the provider's payment page shows, priced when the order was created (so nothing is read again but the
    buyer's e-mail address, which never travels through the workflow's history)."""

    provider: str
    reference: str
    amount: int
    currency: str
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
    provider: str
    reference: str
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
class CancelResult:
    status: str
    cancelled: bool


@dataclass
class CheckoutStatus:
    """The ``status`` query's answer: where the saga is, what it waits for and until when, and what it undid.

    ``status`` is the step (as ``BoxofficeCheckoutStatus``); ``waiting_for`` is None while a step runs. Times are
    ISO 8601 (UTC). ``compensations_registered`` lists the undo steps that would run, oldest first;
    ``compensations_done`` those that ran, in the order they ran.
    """

    order_id: str
    status: str
    payment_url: str | None
    cancelled_reason: str | None = None
    # issue 11: readable runs
    step: str | None = None  # the activity running now, if any
    waiting_for: str | None = None  # payment, late_payment, refund, or None
    deadline: str | None = None  # when the current wait ends
    payment_deadline: str | None = None  # the end of the payment window (never beyond the holds)
    late_payment_until: str | None = None  # the end of the grace period after a cancellation
    payment_checks: int = 0  # how often the provider was asked
    last_payment_state: str | None = None  # its last answer: pending, succeeded, failed, expired
    rechecks_requested: int = 0  # operators' payment re-checks received
    compensations_registered: list[str] = field(default_factory=list)
    compensations_done: list[str] = field(default_factory=list)


SIGNAL_RECHECK_PAYMENT = "recheck_payment"


@dataclass
class PaymentRecheck:
    """An org admin's "check the payment now" (``POST /v1/orders/{id}/payment-check``): the run asks the provider at
    once instead of at its next poll; it decides exactly as it would on a webhook hint."""

    request_id: str
    requested_by: str  # the admin's user id


@dataclass
class CheckoutResult:
    order_id: str
    status: str  # paid, or cancelled
    reason: str | None = None
    ticket_ids: list[str] = field(default_factory=list)
    refunded: bool = False
