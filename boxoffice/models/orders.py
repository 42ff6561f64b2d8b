"""Orders, their lines, payments (transactions), refunds, tickets, attendees and the double-entry ledger."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from boxoffice.models.states import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    TicketStatus,
    TransactionStatus,
)
from boxoffice.models.types import UTCDateTime, new_id, utcnow


def _status(default: str) -> Any:
    return Field(default=default, sa_column=Column(String(20), nullable=False))


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id", "idempotency_key", name="uq_orders_idempotency"),
        CheckConstraint(
            "total_amount >= 0 AND subtotal_cents >= 0 AND fee_cents >= 0 AND tip_cents >= 0", name="ck_orders_amounts"
        ),
        Index("ix_orders_event_status", "event_id", "status"),  # issue 13: an event's orders, page by page
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    event_id: uuid.UUID = Field(foreign_key="events.id", index=True)
    user_id: str = Field(index=True, max_length=128)
    buyer_email: str = Field(max_length=320)
    buyer_name: str = Field(max_length=200)
    status: str = _status(OrderStatus.PENDING)
    payment_status: str = _status(PaymentStatus.PENDING)
    fulfillment_status: str = _status(FulfillmentStatus.UNFULFILLED)
    currency: str = Field(max_length=3)
    subtotal_cents: int = 0
    fee_cents: int = 0
    tip_cents: int = 0
    total_amount: int = 0
    provider: str = Field(max_length=20)
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_hash: str = Field(max_length=64)
    attendees: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=64)
    # Vouchers (issue 13): what the order's vouchers took off its tickets (the subtotal is after it).
    discount_cents: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0 AND unit_price_cents >= 0", name="ck_order_lines_amounts"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    hold_id: uuid.UUID = Field(foreign_key="holds.id")
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_types.id")
    name: str = Field(max_length=200)
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    position: int = 0
    # Vouchers (issue 13): the hold's voucher, its code, and what it took off this line.
    voucher_id: uuid.UUID | None = Field(default=None, foreign_key="vouchers.id")
    voucher_code: str | None = Field(default=None, max_length=64)
    discount_cents: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Transaction(SQLModel, table=True):
    """One payment attempt with a provider for an order."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint(
            "amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= amount", name="ck_transactions_amounts"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True, unique=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    provider: str = Field(max_length=20)
    status: str = _status(TransactionStatus.INITIATED)
    amount: int
    currency: str = Field(max_length=3)
    reference: str = Field(max_length=100, unique=True)
    provider_reference: str | None = Field(default=None, max_length=255, index=True)
    provider_transaction_id: str | None = Field(default=None, max_length=255)
    payment_url: str | None = Field(default=None, sa_column=Column(Text))
    captured_amount: int | None = None
    captured_currency: str | None = Field(default=None, max_length=3)
    refunded_amount: int = 0
    failure_reason: str | None = Field(default=None, max_length=255)
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Refund(SQLModel, table=True):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_refunds_amount"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    transaction_id: uuid.UUID = Field(foreign_key="transactions.id", index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    amount: int
    currency: str = Field(max_length=3)
    status: str = _status(RefundStatus.REQUESTED)
    # automatic: money captured for an order that could not be fulfilled; requested: by an org admin.
    kind: str = Field(default="requested", max_length=20)
    reason: str | None = Field(default=None, max_length=500)
    ticket_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    provider_refund_id: str | None = Field(default=None, max_length=255)
    failure_reason: str | None = Field(default=None, max_length=500)
    # Definitive provider failures so far; part of the idempotency key, so a failed refund is re-sent as new.
    provider_failures: int = 0
    requested_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # After the sale (issue 13): what a buyer's own cancellation kept of the tickets' prices (organiser revenue).
    fee_kept_cents: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Attendee(SQLModel, table=True):
    __tablename__ = "attendees"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    # Delivery (issue 12): when the buyer last corrected the attendee (None: as bought); each correction is a cause
    # of its own for the re-issued PDF and message.
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("order_line_id", "index_in_line", name="uq_tickets_line_index"),
        Index("ix_tickets_signing_kid_valid_until", "signing_kid", "valid_until"),  # which keys to publish
        Index("ix_tickets_status_event", "status", "event_id"),  # admitted tickets of ended events become used
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    order_line_id: uuid.UUID = Field(foreign_key="order_lines.id")
    index_in_line: int
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_types.id", index=True)
    event_id: uuid.UUID = Field(foreign_key="events.id", index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    user_id: str = Field(index=True, max_length=128)
    attendee_id: uuid.UUID | None = Field(default=None, foreign_key="attendees.id")
    ticket_code: str = Field(max_length=19, unique=True)
    qr_payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = _status(TicketStatus.ACTIVE)
    price_cents: int
    seat_id: str | None = Field(default=None, max_length=64)
    scanned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_gate_id: str | None = Field(default=None, max_length=64)
    scan_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The gate (issue 9). The payload's signing key and validity end, stored at issue so that keys.json and the
    # gate bundles publish exactly the keys still needed. scanned_at and first_gate_id: the first admission;
    # last_gate_id and last_scanned_at: the latest; inside: admitted and not scanned out since.
    signing_kid: str | None = Field(default=None, max_length=8)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_gate_id: str | None = Field(default=None, max_length=64)
    last_scanned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    inside: bool = False
    # Transfers (issue 13): the ticket that replaced this one (it was given to another person; this one is voided).
    replaced_by_id: uuid.UUID | None = None


class LedgerEntry(SQLModel, table=True):
    """One side of a balanced journal. Entries are never edited; a correction is a reversing journal.

    ``amount`` is signed: debits positive, credits negative; every journal sums to zero per currency.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_org_account", "organization_id", "account"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    journal_key: str = Field(max_length=120, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    event_id: uuid.UUID | None = Field(default=None, foreign_key="events.id", index=True)
    order_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id", index=True)
    kind: str = Field(max_length=20)  # sale, fee, tip, refund
    account: str = Field(max_length=80)
    amount: int
    currency: str = Field(max_length=3)
    memo: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Journal(SQLModel, table=True):
    """A journal's unique key: posting the same journal twice (a retried activity) is a no-op."""

    __tablename__ = "journals"

    key: str = Field(primary_key=True, max_length=120)
    organization_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    """The inbox: every authentic provider notification, recorded once before we answer 200."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
        Index("ix_webhook_events_status", "status", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=255)
    kind: str = Field(max_length=40)
    raw_type: str = Field(max_length=80)
    reference: str | None = Field(default=None, max_length=100)
    provider_reference: str | None = Field(default=None, max_length=255)
    provider_refund_id: str | None = Field(default=None, max_length=255)
    refund_id: str | None = Field(default=None, max_length=36)  # ours, where the provider echoes it
    order_id: uuid.UUID | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="received", max_length=20)  # received, delivered, resolved, ignored
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SandboxPayment(SQLModel, table=True):
    """State of the built-in sandbox provider (it plays the provider's side)."""

    __tablename__ = "sandbox_payments"

    reference: str = Field(primary_key=True, max_length=100)
    amount: int
    currency: str = Field(max_length=3)
    email: str = Field(max_length=320)
    description: str = Field(max_length=300)
    status: str = Field(default="pending", max_length=20)  # pending, succeeded, declined
    provider_transaction_id: str = Field(max_length=64)
    return_url: str = Field(sa_column=Column(Text, nullable=False))
    cancel_url: str = Field(sa_column=Column(Text, nullable=False))
    refunded_amount: int = 0
    refunds: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
