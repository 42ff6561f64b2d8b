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
# tickets_updated: the order's tickets changed (a corrected attendee name) and are sent again, as they are now.
MESSAGE_KINDS = (
    "confirmation",
    "refund",
    "cancellation",
    "void",
    "transfer",
    "event_changed",
    "resend",
    "tickets_updated",
)


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


@dataclass
class MessageResult:
    """What became of a message: ``sent`` now, or ``already_sent`` for its cause before (nothing sent again).

    ``recorded`` is False when the message went out but its sent-marker could not be written; the run then
    records it in a step of its own, so the message itself is never sent again for that."""

    kind: str
    order_id: str
    cause: str
    status: str  # sent, already_sent
    message_id: str = ""
    recipient: str = ""
    location: str | None = None
    recorded: bool = True
