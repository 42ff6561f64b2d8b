"""Request and response bodies of the gate: scans, the door's history, voids, keys and gate bundles."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, model_validator

from boxoffice.api.schemas import AwareDatetime, Body, Name

ResultName = Literal[
    "admitted", "already_admitted", "invalid", "revoked", "wrong_event", "expired", "exited", "not_inside"
]
DirectionName = Literal["entry", "exit"]
PolicyName = Literal["single_entry", "reentry"]
ONE_OF_PAYLOAD_OR_CODE: dict[str, Any] = {"oneOf": [{"required": ["payload"]}, {"required": ["ticket_code"]}]}
MAX_BATCH = 200  # offline scans per upload: a device sends more in several


class _NamesOneTicket(Body):
    """Exactly one of ``payload`` (the QR's text, as scanned) and ``ticket_code`` (typed: case, spaces and dashes
    do not matter)."""

    model_config = ConfigDict(json_schema_extra=ONE_OF_PAYLOAD_OR_CODE)
    payload: Name | MISSING = Field(default=MISSING, min_length=1, max_length=1024)
    ticket_code: Name | MISSING = Field(default=MISSING, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_way_to_name_a_ticket(self) -> _NamesOneTicket:
        given = {"payload", "ticket_code"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError("give exactly one of payload and ticket_code")
        return self


class ScanIn(_NamesOneTicket):
    """Exactly one of ``payload`` (the QR's text, as scanned) and ``ticket_code`` (typed: case, spaces and dashes
    do not matter)."""

    gate_id: Name = Field(min_length=1, max_length=64, description="the device or door, as the organiser names it")
    event_id: uuid.UUID
    direction: DirectionName = "entry"


class ScanOut(BaseModel):
    """The gate's answer. ``admitted``: let them in. ``already_admitted``: ``first_scanned_at`` at
    ``first_gate_id`` (and last at ``last_gate_id``). ``invalid``, ``revoked``, ``wrong_event``, ``expired``:
    refused (``reason`` says more: bad_signature, malformed, not_found, voided, refunded, withdrawn_key, …). Exit
    scans answer ``exited`` or ``not_inside``. ``replayed``: this gate read this ticket within the replay window,
    and the answer is the one it got then (no new entry counted)."""

    result: ResultName
    reason: str | None = None
    ticket_id: uuid.UUID | None = None
    scan_count: int | None = None
    first_scanned_at: datetime | None = None
    first_gate_id: str | None = None
    last_gate_id: str | None = None
    last_scanned_at: datetime | None = None
    inside: bool | None = None
    replayed: bool = False
    direction: DirectionName
    event_id: uuid.UUID
    gate_id: str
    scanned_at: datetime


class OfflineScanIn(_NamesOneTicket):
    """A scan an offline gate let through (an entry it admitted, or an exit), uploaded once back online."""

    id: uuid.UUID = Field(description="made by the device once per scan: uploading it again changes nothing")
    direction: DirectionName = "entry"
    scanned_at: AwareDatetime = Field(description="when the door let them through, by the device's clock")


class ScanBatchIn(Body):
    """An offline gate's scans (see ``boxoffice.gate.uploads``), each judged and recorded as of its own moment."""

    event_id: uuid.UUID
    gate_id: Name = Field(min_length=1, max_length=64, description="the device or door, as the organiser names it")
    scans: list[OfflineScanIn] = Field(min_length=1, max_length=MAX_BATCH)


class UploadedScanOut(BaseModel):
    """The server's verdict on one uploaded scan, as ``POST /v1/scans`` would have answered at ``scanned_at``.
    ``duplicate``: this id was uploaded before; the answer is its record's and nothing was applied again (the
    ticket's fields are then null)."""

    id: uuid.UUID
    result: ResultName
    reason: str | None = None
    ticket_id: uuid.UUID | None = None
    scanned_at: datetime
    duplicate: bool
    scan_count: int | None = None
    first_scanned_at: datetime | None = None
    first_gate_id: str | None = None


class ScanBatchOut(BaseModel):
    event_id: uuid.UUID
    gate_id: str
    results: list[UploadedScanOut] = Field(description="one per uploaded scan, in the order they were sent")


class ScanRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_id: uuid.UUID
    ticket_id: uuid.UUID | None
    gate_id: str
    direction: DirectionName
    result: ResultName
    reason: str | None
    via: Literal["qr", "code"]
    replayed: bool
    scanner_id: str
    scanned_at: datetime


class VoidIn(Body):
    reason: Name = Field(min_length=1, max_length=500, description="shown to the buyer and kept with the void")


class VoidOut(BaseModel):
    """``buyer_notified``: the buyer's message run was started (if not, the check-in sweep starts it)."""

    ticket_id: uuid.UUID
    status: Literal["voided"]
    reason: str
    voided_at: datetime
    voided_by: str
    buyer_notified: bool
    message_workflow_id: str | None


class PublicKey(BaseModel):
    kty: str
    crv: str
    alg: str
    use: str
    kid: str
    x: str


class KeySet(BaseModel):
    keys: list[PublicKey]


class BundleEvent(BaseModel):
    name: str
    starts_at: str
    ends_at: str
    timezone: str


class BundleSignature(BaseModel):
    alg: Literal["EdDSA"]
    kid: str
    sig: str = Field(description="base64url Ed25519 over the RFC 8785 canonical JSON of the bundle without this member")


class GateBundleOut(BaseModel):
    """Everything an offline gate needs for one event, signed by the ticket-signing key (see
    ``boxoffice.ticketing.bundle``): check the signature against a pinned ``keys.json``."""

    format: Literal["boxoffice-gate-bundle"]
    version: int
    event_id: str
    organization_id: str
    event: BundleEvent
    keys: list[PublicKey]
    revoked_ticket_ids: list[str]
    withdrawn_kids: list[str]
    generated_at: str
    checkin_policy: PolicyName
    ticket_type_policies: dict[str, PolicyName]
    policy_exceptions: dict[str, PolicyName]
    admitted_ticket_ids: list[str]
    inside_ticket_ids: list[str]
    signature: BundleSignature
