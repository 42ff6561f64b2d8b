"""The webhooks flow's contract: the hint a provider webhook becomes, the relay and late-payment runs.

Dependency-free: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGNAL_PAYMENT_EVENT = "payment_event"
WEBHOOK_RELAY_WORKFLOW = "WebhookRelayWorkflow"
WEBHOOK_RELAY_SCHEDULE_ID = "webhook-relay"
WEBHOOK_RELAY_EVERY_SECONDS = 30
LATE_PAYMENT_WORKFLOW = "LatePaymentWorkflow"


def late_payment_workflow_id(order_id: str) -> str:
    return f"late-payment-{order_id}"


@dataclass
class PaymentEventSignal:
    """A hint from a webhook: something happened to a payment or refund; the receiving run (checkout or refund)
    confirms with the provider before acting on it."""

    provider: str
    event_id: str
    kind: str
    amount: int | None = None
    currency: str | None = None


@dataclass
class LatePaymentInput:
    order_id: str
    event_id: str = ""
    poll_interval_seconds: int = 30


@dataclass
class RelayInput:
    older_than_seconds: int = 10


@dataclass
class RelayResult:
    delivered: int
    failed: int
