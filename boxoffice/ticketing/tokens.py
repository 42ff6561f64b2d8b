"""The signed ticket payload carried by the QR code, and its online and offline verification.

Format (version 2), 148 characters, always::

    BX2:<base45(body || signature)>                       (RFC 9285 base45)

    body (32 bytes, big-endian) = kid (2) | ticket id (16) | event tag (3) | organisation tag (3)
                                  | issued_at (u32) | valid_until (u32)
    signature (64 bytes)        = Ed25519 over b"BX2:" + body + event id (16 bytes) + organisation id (UTF-8)
    event tag                   = SHA-256(b"boxoffice-event:" + event id bytes)[:3]
    organisation tag            = SHA-256(b"boxoffice-organization:" + organisation id UTF-8)[:3]

Why this shape. The QR must stay at version 6 (41x41 modules) at error level M, whose alphanumeric-mode
capacity is 154 characters. The 64-byte signature and the full 16-byte ticket id (gate bundles and the API
name tickets by it) are 80 of the 96 bytes. The event and organisation travel as 3-byte tags while the
*signature* binds their full values, which every verifier knows anyway (online: the scan names the event;
offline: the gate bundle carries both), so nothing is lost: a ticket for another event or organisation
never verifies, and the tag lets the verifier say ``wrong_event`` instead of ``bad_signature``. (Two
events share a tag with probability 2**-24; such a ticket then fails as ``bad_signature``: refused all
the same.) The kid is 2 bytes (see :mod:`boxoffice.ticketing.keys`). Times are u32 epoch seconds (until
2106); a ticket is valid through its ``valid_until`` second.

Base45 packs 2 bytes into 3 characters of the QR alphanumeric set (5.33 bits per character; QR
alphanumeric mode stores 5.5, byte mode 8), the encoding the EU digital COVID certificate put on billions
of phones. Its 45 characters are exactly QR's alphanumeric set, so segno encodes the whole payload in
alphanumeric mode; they include space, ``$``, ``%`` and ``*``, so quote a payload in a shell. A payload
never begins or ends with a space (the prefix comes first, and the last character of a 3-character group
is at most ``W``), so trimming scanner whitespace is safe. Decoding is strict: base45 maps byte strings
one-to-one onto valid texts, and any group out of range is refused, so one ticket has exactly one payload.
The only tolerated transport noise is surrounding whitespace and ASCII lower case (base45 has no lower-case
letters, so upper-casing cannot merge two payloads).

Verification order: ``malformed``; ``wrong_event`` (tags differ from the expected event or organisation);
``revoked`` (signed by a withdrawn key); ``unknown_key``; ``bad_signature``; then a gate bundle's
``revoked`` (ticket listed); ``expired``. The event is judged before the key because a gate bundle may
publish only the keys that signed its own event's tickets: a ticket for another event should read
``wrong_event``, not ``unknown_key``. Those early verdicts come from unauthenticated bytes, which is safe
because they only ever refuse; ``ticket_id`` is reported only once the signature held.

A withdrawn key is reported as ``revoked``, not as a reason of its own: withdrawing a key revokes what it
signed (the same outcome at the door as a voided ticket, and the gate's list of reasons stays stable).
Its signature is not checked: a withdrawn key is no longer trusted, nor published.
"""

from __future__ import annotations

import hashlib
import math
import struct
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from boxoffice.ticketing.keys import KID_BYTES, SigningKey, keys_from_jwks

PREFIX = "BX2:"
TAG_BYTES = 3
_BODY = struct.Struct(f">{KID_BYTES}s16s{TAG_BYTES}s{TAG_BYTES}sII")
_SIG_LEN = 64
_RAW_LEN = _BODY.size + _SIG_LEN
PAYLOAD_LENGTH = len(PREFIX) + 3 * (_RAW_LEN // 2) + 2 * (_RAW_LEN % 2)
VALIDITY_AFTER_EVENT = timedelta(days=7)

Reason = Literal["malformed", "unknown_key", "bad_signature", "wrong_event", "expired", "revoked"]


class TicketVerificationError(Exception):
    """A payload that does not admit; ``reason`` is a stable code, ``ticket_id`` is set once the signature held."""

    def __init__(self, reason: Reason, detail: str = "", ticket_id: uuid.UUID | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason
        self.ticket_id = ticket_id


@dataclass(frozen=True)
class UnverifiedPayload:
    """The fields of a well-formed payload, *not yet authenticated*: use them to look things up, never to admit."""

    kid: str
    ticket_id: uuid.UUID
    event_tag: bytes
    organization_tag: bytes
    issued_at: datetime
    valid_until: datetime
    body: bytes
    signature: bytes


@dataclass(frozen=True)
class VerifiedTicket:
    """The authentic contents of a payload whose signature verified."""

    ticket_id: uuid.UUID
    event_id: uuid.UUID
    organization_id: str
    kid: str
    issued_at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class GateVerdict:
    """A gate's answer: ``reason`` is ``"valid"`` when admitted, else a :data:`Reason`."""

    valid: bool
    reason: str
    ticket_id: uuid.UUID | None = None


def event_tag(event_id: uuid.UUID) -> bytes:
    """The 3-byte tag of ``event_id`` carried in payloads."""
    return hashlib.sha256(b"boxoffice-event:" + event_id.bytes).digest()[:TAG_BYTES]


def organization_tag(organization_id: str) -> bytes:
    """The 3-byte tag of ``organization_id`` carried in payloads."""
    return hashlib.sha256(b"boxoffice-organization:" + organization_id.encode("utf-8")).digest()[:TAG_BYTES]


def validity_end(event_ends_at: datetime) -> datetime:
    """A ticket's ``valid_until`` for an event ending at ``event_ends_at``: seven days later."""
    return event_ends_at + VALIDITY_AFTER_EVENT


def _epoch(dt: datetime, name: str) -> int:
    if dt.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    seconds = int(dt.timestamp())
    if not 0 <= seconds < 2**32:
        raise ValueError(f"{name} is outside 1970-2106")
    return seconds


def _signed_message(body: bytes, event_id: uuid.UUID, organization_id: str) -> bytes:
    # The organisation id comes last and everything before it has a fixed length: the message is unambiguous.
    return PREFIX.encode() + body + event_id.bytes + organization_id.encode("utf-8")


def sign_ticket(
    key: SigningKey,
    *,
    ticket_id: uuid.UUID,
    event_id: uuid.UUID,
    organization_id: str,
    valid_until: datetime,
    issued_at: datetime,
) -> str:
    """The payload for a ticket, :data:`PAYLOAD_LENGTH` characters; the same arguments give the same
    payload (Ed25519 signatures are deterministic). ``ValueError`` for naive or out-of-range times or an
    empty organisation id."""
    if not organization_id:
        raise ValueError("organization_id must not be empty")
    kid = bytes.fromhex(key.kid)
    if len(kid) != KID_BYTES:  # struct would silently pad or cut it
        raise ValueError(f"kid must be {KID_BYTES * 2} hex characters")
    body = _BODY.pack(
        kid,
        ticket_id.bytes,
        event_tag(event_id),
        organization_tag(organization_id),
        _epoch(issued_at, "issued_at"),
        _epoch(valid_until, "valid_until"),
    )
    signature = key.private_key.sign(_signed_message(body, event_id, organization_id))
    return PREFIX + base45.b45encode(body + signature).decode("ascii")


def decode_payload(payload: str) -> UnverifiedPayload:
    """The fields of ``payload`` without checking its signature; ``TicketVerificationError("malformed")``
    unless it is exactly a canonical version 2 payload (give or take surrounding whitespace and case)."""
    text = payload.strip()
    if not text.isascii():
        raise TicketVerificationError("malformed", "not ASCII")
    text = text.upper()
    if len(text) != PAYLOAD_LENGTH or not text.startswith(PREFIX):
        raise TicketVerificationError("malformed", "wrong prefix or length")
    data = text[len(PREFIX) :]
    try:
        raw = bytes(base45.b45decode(data))
    except ValueError:
        raise TicketVerificationError("malformed", "not base45") from None
    # The library already refuses out-of-range groups; the round trip also pins every leniency it may have.
    if len(raw) != _RAW_LEN or base45.b45encode(raw).decode("ascii") != data:
        raise TicketVerificationError("malformed", "non-canonical encoding")
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    kid, ticket, etag, otag, issued, valid_until = _BODY.unpack(body)
    return UnverifiedPayload(
        kid=kid.hex(),
        ticket_id=uuid.UUID(bytes=ticket),
        event_tag=etag,
        organization_tag=otag,
        issued_at=datetime.fromtimestamp(issued, UTC),
        valid_until=datetime.fromtimestamp(valid_until, UTC),
        body=body,
        signature=signature,
    )


def _authenticate(
    payload: str,
    keys: Mapping[str, Ed25519PublicKey],
    event_id: uuid.UUID,
    organization_id: str,
    withdrawn_kids: Collection[str],
) -> VerifiedTicket:
    """Every check but the time and the revoked-ticket list, in the order the module docstring gives."""
    found = decode_payload(payload)
    if found.event_tag != event_tag(event_id) or found.organization_tag != organization_tag(organization_id):
        raise TicketVerificationError("wrong_event", "ticket is for another event or organisation")
    if found.kid in withdrawn_kids:
        raise TicketVerificationError("revoked", f"signed by withdrawn key {found.kid}")
    public_key = keys.get(found.kid)
    if public_key is None:
        raise TicketVerificationError("unknown_key", found.kid)
    try:
        public_key.verify(found.signature, _signed_message(found.body, event_id, organization_id))
    except InvalidSignature:
        raise TicketVerificationError("bad_signature") from None
    return VerifiedTicket(
        ticket_id=found.ticket_id,
        event_id=event_id,
        organization_id=organization_id,
        kid=found.kid,
        issued_at=found.issued_at,
        valid_until=found.valid_until,
    )


def _check_expiry(ticket: VerifiedTicket, now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if math.floor(now.timestamp()) > ticket.valid_until.timestamp():  # valid through the whole last second
        raise TicketVerificationError("expired", ticket.valid_until.isoformat(), ticket.ticket_id)


def verify_ticket(
    payload: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    now: datetime,
    event_id: uuid.UUID,
    organization_id: str,
    withdrawn_kids: Collection[str] = (),
) -> VerifiedTicket:
    """The ticket in ``payload`` if it was signed by one of ``keys`` (by kid) and not by a key in
    ``withdrawn_kids``, is for ``event_id`` of ``organization_id``, and is still valid at ``now`` (valid
    through its ``valid_until`` second).

    Online, pass ``ring.verification_keys()`` and ``ring.withdrawn_kids()``. Raises
    :class:`TicketVerificationError`; nothing from an unauthenticated payload is ever returned.
    """
    ticket = _authenticate(payload, keys, event_id, organization_id, withdrawn_kids)
    _check_expiry(ticket, now)
    return ticket


def make_gate_bundle(
    *,
    event_id: uuid.UUID,
    organization_id: str,
    jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    revoked_ticket_ids: Iterable[uuid.UUID],
    withdrawn_kids: Iterable[str],
    generated_at: datetime,
) -> dict[str, Any]:
    """The gate bundle :func:`verify_with_bundle` reads (JSON-ready), e.g. with ``jwks=ring.public_jwks(kids)``
    and ``withdrawn_kids=ring.withdrawn_kids()``."""
    keys = jwks.get("keys", []) if isinstance(jwks, Mapping) else jwks
    return {
        "event_id": str(event_id),
        "organization_id": organization_id,
        "keys": [dict(k) for k in keys],
        "revoked_ticket_ids": sorted(str(t) for t in revoked_ticket_ids),
        "withdrawn_kids": sorted(withdrawn_kids),
        "generated_at": generated_at.isoformat(),
    }


def verify_with_bundle(payload: str, bundle: Mapping[str, Any], now: datetime) -> GateVerdict:
    """The offline gate's verdict for ``payload`` against a gate bundle ``{event_id, organization_id, keys,
    revoked_ticket_ids, withdrawn_kids?, generated_at}`` (``keys`` as a JWK list or ``{"keys": [...]}``).

    Never raises for a bad payload: every failure is a verdict. A malformed *bundle* raises ``ValueError``.
    """
    try:
        keys = keys_from_jwks(bundle["keys"])
        event_id = uuid.UUID(str(bundle["event_id"]))
        organization_id = bundle["organization_id"]
        if not isinstance(organization_id, str) or not organization_id:
            raise ValueError("organization_id must be a non-empty string")
        revoked = {uuid.UUID(str(t)) for t in bundle.get("revoked_ticket_ids", [])}
        withdrawn = {str(k) for k in bundle.get("withdrawn_kids") or []}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed gate bundle: {exc}") from None
    try:
        ticket = _authenticate(payload, keys, event_id, organization_id, withdrawn)
        if ticket.ticket_id in revoked:
            return GateVerdict(False, "revoked", ticket.ticket_id)
        _check_expiry(ticket, now)
    except TicketVerificationError as exc:
        return GateVerdict(False, exc.reason, exc.ticket_id)
    return GateVerdict(True, "valid", ticket.ticket_id)
