"""Signed gate bundles, and an offline gate that verifies many payloads against one bundle.

A gate bundle (``GET /v1/events/{id}/gate-bundle``) is a JSON object that :func:`verify_with_bundle
<boxoffice.ticketing.tokens.verify_with_bundle>` reads, plus a ``signature`` member::

    "signature": {"alg": "EdDSA", "kid": "1a2b", "sig": "<base64url Ed25519 signature>"}

The signature is Ed25519, by the ring's active key, over the **canonical encoding** of the bundle without its
``signature`` member: RFC 8785 (JSON Canonicalization Scheme). A bundle holds only objects, arrays, strings,
integers, booleans and null (never a float), for which JCS is exactly ``json.dumps(..., sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` in UTF-8, and JavaScript's ``JSON.stringify`` over an object whose
keys were sorted gives the same bytes (every key is ASCII, so UTF-16 and code-point order agree). The bundle's own
``format`` and ``version`` members are inside the signed bytes, so a bundle signature can never be mistaken for a
ticket's (whose signed messages begin with ``BX2:``).

Which keys to trust for the signature is the gate's decision, not the bundle's: a gate pins ``keys.json``
(``/.well-known/boxoffice/keys.json``, fetched once over TLS); checking a bundle against the keys it carries
proves only that it is intact, not who made it (:func:`bundle_trust` says which of the two a check did).
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from boxoffice.ticketing.keys import KID_BYTES, SigningKey, b64url, b64url_decode, keys_from_jwks
from boxoffice.ticketing.tokens import (
    PAYLOAD_LENGTH,
    PREFIX,
    TAG_BYTES,
    GateVerdict,
    event_tag,
    organization_tag,
)

BUNDLE_FORMAT = "boxoffice-gate-bundle"
BUNDLE_VERSION = 1
SIGNATURE = "signature"


class BundleSignatureError(ValueError):
    """A bundle whose signature does not hold: ``reason`` is ``unsigned``, ``unknown_key`` or ``bad_signature``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"bundle signature: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """``document`` in RFC 8785 canonical form (UTF-8). ``ValueError`` for a float anywhere in it: the bundle
    format has none, and their canonical form is the one part of JCS that ``json`` does not give."""

    def check(value: Any) -> None:
        if isinstance(value, float):
            raise ValueError("a gate bundle holds no floats")
        if isinstance(value, Mapping):
            for item in value.values():
                check(item)
        elif isinstance(value, list | tuple):
            for item in value:
                check(item)

    check(document)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _unsigned(bundle: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in bundle.items() if k != SIGNATURE}


def sign_bundle(bundle: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """``bundle`` with a ``signature`` by ``key`` over its canonical encoding (any previous signature replaced)."""
    body = _unsigned(bundle)
    sig = key.private_key.sign(canonical_json(body))
    return {**body, SIGNATURE: {"alg": "EdDSA", "kid": key.kid, "sig": b64url(sig)}}


def verify_bundle_signature(bundle: Mapping[str, Any], trusted: Mapping[str, Ed25519PublicKey]) -> str:
    """The kid that signed ``bundle`` if its signature verifies with one of ``trusted`` (by kid); raises
    :class:`BundleSignatureError` otherwise (a changed member, a key not trusted, no signature)."""
    signature = bundle.get(SIGNATURE)
    if not isinstance(signature, Mapping):
        raise BundleSignatureError("unsigned")
    kid, sig = signature.get("kid"), signature.get("sig")
    if signature.get("alg") != "EdDSA" or not isinstance(kid, str) or not isinstance(sig, str):
        raise BundleSignatureError("bad_signature", "not an EdDSA signature with a kid")
    key = trusted.get(kid)
    if key is None:
        raise BundleSignatureError("unknown_key", kid)
    try:
        key.verify(b64url_decode(sig), canonical_json(_unsigned(bundle)))
    except (InvalidSignature, ValueError):
        raise BundleSignatureError("bad_signature") from None
    return kid


def bundle_trust(bundle: Mapping[str, Any], pinned_jwks: Mapping[str, Any] | None) -> str:
    """Check ``bundle``'s signature and say, in one line, what the check establishes.

    With ``pinned_jwks`` (a ``keys.json`` the gate trusts) the bundle must be signed by one of those keys.
    Without, a signed bundle is checked against the keys it carries (intact, origin unproven), and an unsigned one
    is taken as given. Raises :class:`BundleSignatureError` when a signature present or required does not hold, and
    ``ValueError`` for a malformed key set.
    """
    if pinned_jwks is not None:
        kid = verify_bundle_signature(bundle, keys_from_jwks(pinned_jwks))
        return f"bundle signed by {kid}, a pinned key: trusted"
    if SIGNATURE not in bundle:
        return "bundle UNSIGNED: trusted as given (pass a pinned keys.json to require a signature)"
    kid = verify_bundle_signature(bundle, keys_from_jwks(bundle.get("keys", [])))
    return f"bundle signed by {kid}, checked against its own keys only: intact, origin not proven (pin keys.json)"


# --- an offline gate ---------------------------------------------------------------------------------------

_RAW = (PAYLOAD_LENGTH - len(PREFIX)) // 3 * 2  # the payload's bytes (body and signature): 2 per group of 3
_BODY_LEN = KID_BYTES + 16 + 2 * TAG_BYTES + 8


_GROUPS = struct.Struct(f">{_RAW // 2}H")
_B45_VALUE = [-1] * 128
for _i, _c in enumerate(base45.BASE45_CHARSET):
    _B45_VALUE[ord(_c)] = _i


def _b45decode_groups(text: str) -> bytes | None:
    """The bytes of ``text``, exactly ``_RAW // 2`` base45 groups of 3 (ASCII), or None when it is not that.

    Every group is range-checked, so each valid text decodes to one byte string and back: canonical, as
    ``tokens.decode_payload``'s round trip checks (the equivalence is tested). About twice as fast as the
    ``base45`` package's general decoder, which is most of what a gate spends beside the signature check.
    """
    values = [_B45_VALUE[c] for c in text.encode("ascii")]
    if len(values) != 3 * _GROUPS.size // 2 or -1 in values:
        return None
    groups = [a + b * 45 + c * 2025 for a, b, c in zip(values[0::3], values[1::3], values[2::3], strict=True)]
    if max(groups) > 0xFFFF:
        return None
    return _GROUPS.pack(*groups)


@dataclass(frozen=True)
class _Prepared:
    keys: dict[str, Ed25519PublicKey]
    event_id: uuid.UUID
    organization_id: str
    revoked: frozenset[uuid.UUID]
    withdrawn: frozenset[str]


class OfflineGate:
    """A gate holding one bundle, read once: :meth:`verify` gives exactly :func:`verify_with_bundle`'s verdict for
    that bundle, without re-reading the bundle (its keys, revoked list) for every payload. ``ValueError`` for a
    malformed bundle."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        try:
            event_id = uuid.UUID(str(bundle["event_id"]))
            organization_id = bundle["organization_id"]
            if not isinstance(organization_id, str) or not organization_id:
                raise ValueError("organization_id must be a non-empty string")
            self._p = _Prepared(
                keys=keys_from_jwks(bundle["keys"]),
                event_id=event_id,
                organization_id=organization_id,
                revoked=frozenset(uuid.UUID(str(t)) for t in bundle.get("revoked_ticket_ids", [])),
                withdrawn=frozenset(str(k) for k in bundle.get("withdrawn_kids") or []),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed gate bundle: {exc}") from None
        # What every payload of this event and organisation carries or is signed with, worked out once.
        self._tags = event_tag(event_id) + organization_tag(organization_id)
        self._tail = event_id.bytes + organization_id.encode("utf-8")
        self._prefix = PREFIX.encode("ascii")

    def verify(self, payload: str, now: datetime) -> GateVerdict:
        """The verdict for ``payload`` at ``now`` (aware), in :mod:`boxoffice.ticketing.tokens`' order: malformed,
        wrong_event, revoked (withdrawn key), unknown_key, bad_signature, revoked (listed), expired."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        text = payload.strip()
        if not text.isascii():
            return GateVerdict(False, "malformed")
        text = text.upper()
        if len(text) != PAYLOAD_LENGTH or not text.startswith(PREFIX):
            return GateVerdict(False, "malformed")
        raw = _b45decode_groups(text[len(PREFIX) :])
        if raw is None:
            return GateVerdict(False, "malformed")
        body = raw[:_BODY_LEN]
        p = self._p
        if body[KID_BYTES + 16 : KID_BYTES + 16 + 2 * TAG_BYTES] != self._tags:
            return GateVerdict(False, "wrong_event")
        kid = body[:KID_BYTES].hex()
        if kid in p.withdrawn:
            return GateVerdict(False, "revoked")
        key = p.keys.get(kid)
        if key is None:
            return GateVerdict(False, "unknown_key")
        try:
            key.verify(raw[_BODY_LEN:], self._prefix + body + self._tail)
        except InvalidSignature:
            return GateVerdict(False, "bad_signature")
        ticket_id = uuid.UUID(bytes=body[KID_BYTES : KID_BYTES + 16])
        if ticket_id in p.revoked:
            return GateVerdict(False, "revoked", ticket_id)
        valid_until = int.from_bytes(body[_BODY_LEN - 4 :], "big")
        if math.floor(now.timestamp()) > valid_until:  # valid through the whole last second
            return GateVerdict(False, "expired", ticket_id)
        return GateVerdict(True, "valid", ticket_id)
