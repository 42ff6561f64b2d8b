"""The gate's tables: every scan attempt, and the organiser's voids; check-in policies and scan results."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from boxoffice.models.types import UTCDateTime, new_id, utcnow


class CheckinPolicy(StrEnum):
    """How often a ticket gets in: once (``single_entry``), or again after an exit scan (``reentry``)."""

    SINGLE_ENTRY = "single_entry"
    REENTRY = "reentry"


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class ScanResult(StrEnum):
    """What a gate is told. The first six are the contract's; ``exited`` and ``not_inside`` answer exit scans."""

    ADMITTED = "admitted"
    ALREADY_ADMITTED = "already_admitted"
    INVALID = "invalid"
    REVOKED = "revoked"
    WRONG_EVENT = "wrong_event"
    EXPIRED = "expired"
    EXITED = "exited"
    NOT_INSIDE = "not_inside"


class Scan(SQLModel, table=True):
    """One scan attempt at a gate, whatever its result (the door's history). Never updated.

    ``ticket_id`` is set once the ticket is known (an authentic payload or an existing code of the organisation);
    ``replayed`` marks the same gate re-reading a ticket within the replay window (it counted no new entry).
    """

    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_event_scanned_at", "event_id", "scanned_at"),
        Index("ix_scans_ticket_scanned_at", "ticket_id", "scanned_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    event_id: uuid.UUID = Field(foreign_key="events.id")
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="tickets.id")
    gate_id: str = Field(max_length=64)
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    result: str = Field(sa_column=Column(String(20), nullable=False))
    # Why, when the result alone does not say: bad_signature, malformed, unknown_key, not_found, voided, refunded,
    # withdrawn_key, reentry_not_allowed, …
    reason: str | None = Field(default=None, max_length=40)
    via: str = Field(sa_column=Column(String(8), nullable=False))  # "qr" or "code"
    replayed: bool = False
    scanner_id: str = Field(max_length=128)
    scanned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketVoid(SQLModel, table=True):
    """An organiser's void of one ticket: who, when and why, and whether the buyer's message was started."""

    __tablename__ = "ticket_voids"
    __table_args__ = (Index("ix_ticket_voids_unnotified", "notified_at"),)

    ticket_id: uuid.UUID = Field(foreign_key="tickets.id", primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=64)
    order_id: uuid.UUID = Field(foreign_key="orders.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    voided_by: str = Field(max_length=128)
    voided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set once the buyer's message run has been started (the check-in sweep starts those still missing).
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
