"""SQLModel tables. Importing this package registers every table and the status-transition guard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from boxoffice.models.catalogue import Event, Hold, Organization, TicketType
from boxoffice.models.drafts import CheckoutDraft  # issue 11
from boxoffice.models.gate import Scan, TicketVoid
from boxoffice.models.messages import SentMessage
from boxoffice.models.orders import (
    Attendee,
    Journal,
    LedgerEntry,
    Order,
    OrderLine,
    Refund,
    SandboxPayment,
    Ticket,
    Transaction,
    WebhookEvent,
)
from boxoffice.models.states import (
    FulfillmentStatus,
    HoldStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    TicketStatus,
    TransactionStatus,
    WaitlistStatus,
    check_transition,
)
from boxoffice.models.vouchers import Voucher
from boxoffice.models.waitlist import TicketTransfer, WaitlistEntry  # issue 13: waiting lists and transfers

# (table class, attribute) → the machine its value must follow.
GUARDED: dict[tuple[type, str], Any] = {
    (Hold, "status"): HoldStatus,
    (Order, "status"): OrderStatus,
    (Order, "payment_status"): PaymentStatus,
    (Order, "fulfillment_status"): FulfillmentStatus,
    (Transaction, "status"): TransactionStatus,
    (Ticket, "status"): TicketStatus,
    (Refund, "status"): RefundStatus,
    (WaitlistEntry, "status"): WaitlistStatus,
}


@event.listens_for(Session, "before_flush")
def _refuse_illegal_transitions(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.dirty:
        for (cls, attr), machine in GUARDED.items():
            if not isinstance(obj, cls):
                continue
            hist = inspect(obj).attrs[attr].history
            if hist.deleted and hist.added:
                check_transition(machine, str(hist.deleted[0]), str(hist.added[0]), what=f"{cls.__name__}.{attr}")


metadata = SQLModel.metadata

__all__ = [
    "Attendee",
    "CheckoutDraft",
    "Event",
    "Hold",
    "Journal",
    "LedgerEntry",
    "Order",
    "OrderLine",
    "Organization",
    "Refund",
    "SandboxPayment",
    "Scan",
    "SentMessage",
    "Ticket",
    "TicketTransfer",
    "TicketType",
    "TicketVoid",
    "Transaction",
    "Voucher",
    "WaitlistEntry",
    "WebhookEvent",
    "metadata",
]
