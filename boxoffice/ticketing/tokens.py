"""The signed ticket payload carried by the QR code, and its offline verification.

Format (version 1), 177 characters, always::

    BX1.<base32(body || signature), upper case, unpadded>

    body (44 bytes, big-endian) = kid (4) | ticket id (16) | event id (16) | issued_at (u32) | valid_until (u32)
    signature (64 bytes)        = Ed25519 over b"BX1." + body

Why this shape: the 64-byte signature dominates, so the body carries only raw bytes (uuids, u32 epoch
seconds, no JSON). Upper-case base32 and ``.`` are all in the QR *alphanumeric* set (5.5 bits per
character versus 8 in byte mode), which puts 108 bytes at 177 characters in a version 7 QR at error level
M (capacity 178); the same bytes as base64url would need byte mode and version 9. Base32 also survives
shells and case-folding scanners. Times have one-second precision and fit until 2106.

Verification checks, in order: ``malformed``, ``unknown_key``, ``bad_signature``, ``wrong_event``,
``expired``; a gate bundle adds ``revoked`` (reported before ``expired``: it tells gate staff more).
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from boxoffice.ticketing.keys import KID_BYTES, keys_from_jwks

PREFIX = "BX1."
_BODY = struct.Struct(">4s16s16sII")
_SIG_LEN = 64
PAYLOAD_LENGTH = len(PREFIX) + len(base64.b32encode(bytes(_BODY.size + _SIG_LEN)).rstrip(b"="))

Reason = Literal["malformed", "unknown_key", "bad_signature", "wrong_event", "expired", "revoked"]


class TicketVerificationError(Exception):
    """A payload that does not admit; ``reason`` is a stable code, ``ticket_id`` is set once the signature held."""

    def __init__(self, reason: Reason, detail: str = "", ticket_id: uuid.UUID | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason
        self.ticket_id = ticket_id


@dataclass(frozen=True)
class VerifiedTicket:
    """The authentic contents of a payload whose signature verified."""

    ticket_id: uuid.UUID
    event_id: uuid.UUID
    kid: str
    issued_at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class GateVerdict:
    """A gate's answer: ``reason`` is ``"valid"`` when admitted, else a :data:`Reason`."""

    valid: bool
    reason: str
    ticket_id: uuid.UUID | None = None


def _epoch(dt: datetime, name: str) -> int:
    if dt.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return int(dt.timestamp())


def sign_ticket(
    private_key: Ed25519PrivateKey,
    kid: str,
    ticket_id: uuid.UUID,
    event_id: uuid.UUID,
    valid_until: datetime,
    issued_at: datetime,
) -> str:
    """The payload for a ticket; deterministic for the same arguments (Ed25519 signatures are).

    ``kid`` must be the 8-hex-character id of ``private_key`` (see :func:`boxoffice.ticketing.keys.key_id`).
    """
    kid_raw = bytes.fromhex(kid)
    if len(kid_raw) != KID_BYTES:
        raise ValueError(f"kid must be {KID_BYTES * 2} hex characters")
    body = _BODY.pack(
        kid_raw,
        ticket_id.bytes,
        event_id.bytes,
        _epoch(issued_at, "issued_at"),
        _epoch(valid_until, "valid_until"),
    )
    signature = private_key.sign(PREFIX.encode() + body)
    return PREFIX + base64.b32encode(body + signature).decode("ascii").rstrip("=")


def _decode(payload: str) -> tuple[bytes, bytes]:
    text = payload.strip().upper()  # scanners may hand over lower case; base32 is case-insensitive
    if len(text) != PAYLOAD_LENGTH or not text.startswith(PREFIX):
        raise TicketVerificationError("malformed", "wrong prefix or length")
    data = text[len(PREFIX) :]
    try:
        raw = base64.b32decode(data + "=" * (-len(data) % 8))
    except (binascii.Error, ValueError):
        raise TicketVerificationError("malformed", "not base32") from None
    # The last character has a spare bit; reject the non-canonical twin so one ticket has one payload.
    if base64.b32encode(raw).decode("ascii").rstrip("=") != data:
        raise TicketVerificationError("malformed", "non-canonical encoding")
    return raw[: _BODY.size], raw[_BODY.size :]


def _authenticate(payload: str, keys: Mapping[str, Ed25519PublicKey]) -> VerifiedTicket:
    body, signature = _decode(payload)
    kid_raw, ticket_raw, event_raw, issued, valid_until = _BODY.unpack(body)
    kid = kid_raw.hex()
    public_key = keys.get(kid)
    if public_key is None:
        raise TicketVerificationError("unknown_key", kid)
    try:
        public_key.verify(signature, PREFIX.encode() + body)
    except InvalidSignature:
        raise TicketVerificationError("bad_signature") from None
    return VerifiedTicket(
        ticket_id=uuid.UUID(bytes=ticket_raw),
        event_id=uuid.UUID(bytes=event_raw),
        kid=kid,
        issued_at=datetime.fromtimestamp(issued, UTC),
        valid_until=datetime.fromtimestamp(valid_until, UTC),
    )


def _check_event(ticket: VerifiedTicket, event_id: uuid.UUID | None) -> None:
    if event_id is not None and ticket.event_id != event_id:
        raise TicketVerificationError("wrong_event", str(ticket.event_id), ticket.ticket_id)


def _check_expiry(ticket: VerifiedTicket, now: datetime) -> None:
    if _epoch(now, "now") > int(ticket.valid_until.timestamp()):
        raise TicketVerificationError("expired", ticket.valid_until.isoformat(), ticket.ticket_id)


def verify_ticket(
    payload: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    now: datetime,
    event_id: uuid.UUID | None,
) -> VerifiedTicket:
    """The ticket in ``payload`` if it was signed by one of ``keys`` (by kid), is for ``event_id`` (any when
    None) and is still valid at ``now`` (valid through its ``valid_until`` second).

    Raises :class:`TicketVerificationError`; nothing from an unauthenticated payload is ever returned.
    """
    ticket = _authenticate(payload, keys)
    _check_event(ticket, event_id)
    _check_expiry(ticket, now)
    return ticket


def verify_with_bundle(payload: str, bundle: Mapping[str, Any], now: datetime) -> GateVerdict:
    """The offline gate's verdict for ``payload`` against a gate bundle
    ``{event_id, keys, revoked_ticket_ids, generated_at}`` (``keys`` as a JWK list or ``{"keys": [...]}``).

    Never raises for a bad payload: every failure is a verdict. A malformed *bundle* raises ``ValueError``.
    """
    try:
        keys = keys_from_jwks(bundle["keys"])
        event_id = uuid.UUID(str(bundle["event_id"]))
        revoked = {uuid.UUID(str(t)) for t in bundle.get("revoked_ticket_ids", [])}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed gate bundle: {exc}") from None
    try:
        ticket = _authenticate(payload, keys)
        _check_event(ticket, event_id)
        if ticket.ticket_id in revoked:
            return GateVerdict(False, "revoked", ticket.ticket_id)
        _check_expiry(ticket, now)
    except TicketVerificationError as exc:
        return GateVerdict(False, exc.reason, exc.ticket_id)
    return GateVerdict(True, "valid", ticket.ticket_id)
