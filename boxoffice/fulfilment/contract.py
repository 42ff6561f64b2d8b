"""The fulfilment flow's contract: an order's tickets delivered (PDF stored, e-mailed), once per order.

Dependency-free: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FULFILLMENT_WORKFLOW = "FulfillmentWorkflow"


def fulfillment_workflow_id(order_id: str) -> str:
    return f"fulfillment-{order_id}"


@dataclass
class FulfillmentInput:
    order_id: str


@dataclass
class FulfillmentResult:
    order_id: str
    pdf_location: str | None
    emailed_to: str | None


MESSAGE_WORKFLOW = "MessageWorkflow"
# What a message is about; each is sent at most once per cause (the workflow id carries the cause).
MESSAGE_KINDS = ("confirmation", "refund", "cancellation", "void", "transfer", "event_changed", "resend")


def message_workflow_id(kind: str, key: str) -> str:
    """One run per cause: ``message-refund-{refund_id}``, ``message-void-{ticket_id}``, …"""
    return f"message-{kind}-{key}"


@dataclass
class MessageInput:
    """A message to an order's buyer about one cause. ``key`` makes the cause unique (the order, refund or ticket
    id; for ``resend``, the request's id); ``refresh_pdf`` re-renders the order's tickets first (they changed:
    a partial refund, a void, a corrected name, a transfer, an edited event)."""

    kind: str
    order_id: str
    key: str
    reason: str | None = None
    ticket_ids: list[str] = field(default_factory=list)
    refresh_pdf: bool = False
