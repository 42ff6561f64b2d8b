"""Signed QR payloads (BX2): compact canonical form, tampering, verification order, keys, events, expiry and
malformed input."""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from boxoffice.ticketing.keys import SigningKey, generate_signing_key
from boxoffice.ticketing.tokens import (
    PAYLOAD_LENGTH,
    PREFIX,
    TicketVerificationError,
    decode_payload,
    event_tag,
    validity_end,
    verify_ticket,
)
from tests.ticketing.samples import B45, DURING, EVENT, ISSUED, ORG, OTHER_EVENT, TICKET, VALID_UNTIL, signed, tweak

QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")


def _reason(
    payload: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    now: datetime = DURING,
    event_id: uuid.UUID = EVENT,
    org: str = ORG,
    withdrawn: tuple[str, ...] = (),
) -> str:
    with pytest.raises(TicketVerificationError) as info:
        verify_ticket(payload, keys, now=now, event_id=event_id, organization_id=org, withdrawn_kids=withdrawn)
    if info.value.reason in ("malformed", "wrong_event", "unknown_key", "bad_signature"):
        assert info.value.ticket_id is None  # nothing unauthenticated is reported
    return info.value.reason


def test_round_trip(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    ticket = verify_ticket(payload, keys, now=DURING, event_id=EVENT, organization_id=ORG)
    assert (ticket.ticket_id, ticket.event_id, ticket.organization_id, ticket.kid) == (TICKET, EVENT, ORG, key.kid)
    assert (ticket.issued_at, ticket.valid_until) == (ISSUED, VALID_UNTIL)
    # Transport noise only: a scanner's line ending, a caps-locked keyboard wedge.
    for received in (payload + "\r\n", f"  {payload}", payload.lower()):
        assert verify_ticket(received, keys, now=DURING, event_id=EVENT, organization_id=ORG) == ticket
    found = decode_payload(payload)
    assert (found.kid, found.ticket_id, found.event_tag) == (key.kid, TICKET, event_tag(EVENT))


def test_payload_is_compact_canonical_and_alphanumeric(key: SigningKey, payload: str) -> None:
    assert payload.startswith(PREFIX) and len(payload) == PAYLOAD_LENGTH == 148
    assert signed(key) == payload  # deterministic
    for _ in range(200):
        p = signed(key, uuid.uuid4(), event=uuid.uuid4(), org=str(uuid.uuid4()))
        assert len(p) == PAYLOAD_LENGTH and set(p) <= QR_ALPHANUMERIC
        assert p == p.strip()  # safe to trim what scanners append
        assert base45.b45encode(base45.b45decode(p[len(PREFIX) :])).decode() == p[len(PREFIX) :]


def test_every_single_character_change_is_refused(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    refused: set[str] = set()
    for i, original in enumerate(payload):
        for replacement in (B45[(B45.index(original) + 1) % 45] if original in B45 else "0", "#"):
            changed = payload[:i] + replacement + payload[i + 1 :]
            refused.add(_reason(changed, keys))
    assert refused <= {"malformed", "wrong_event", "unknown_key", "bad_signature"}
    assert {"malformed", "bad_signature"} <= refused


def test_tampering_with_signed_fields_breaks_the_signature(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    # Raw bytes: 2..17 ticket id, 24..27 issued_at, 28..31 valid_until, 32.. signature.
    for byte_index in (2, 10, 17, 25, 30, 40, 95):
        assert _reason(tweak(payload, byte_index), keys) == "bad_signature", byte_index


def test_key_claimed_by_another_signer_is_a_bad_signature(key: SigningKey) -> None:
    impostor = SigningKey(generate_signing_key().private_key, key.kid)
    assert _reason(signed(impostor), {key.kid: key.public_key}) == "bad_signature"


def test_unknown_key(key: SigningKey, payload: str) -> None:
    assert _reason(payload, {}) == "unknown_key"
    other = generate_signing_key()
    assert _reason(payload, {other.kid: other.public_key}) == "unknown_key"


def test_withdrawn_key_is_revoked(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    # Refused even while the key is still in the set: withdrawal wins over anything else that lists the key.
    assert _reason(payload, keys, withdrawn=(key.kid,)) == "revoked"
    other_kid = "0000" if key.kid != "0000" else "0001"
    ticket = verify_ticket(payload, keys, now=DURING, event_id=EVENT, organization_id=ORG, withdrawn_kids=[other_kid])
    assert ticket.ticket_id == TICKET


def test_wrong_event_and_organisation(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    assert _reason(payload, keys, event_id=OTHER_EVENT) == "wrong_event"
    assert _reason(payload, keys, org="another-org") == "wrong_event"
    # Judged before the key and the time: a gate bundle may not carry the other event's keys at all.
    assert _reason(payload, {}, event_id=OTHER_EVENT) == "wrong_event"
    assert _reason(payload, keys, event_id=OTHER_EVENT, now=VALID_UNTIL + timedelta(days=1)) == "wrong_event"


def test_signature_binds_the_full_event_id_not_only_its_tag(key: SigningKey) -> None:
    tags: dict[bytes, uuid.UUID] = {}
    for n in range(1, 1 << 20):  # 24-bit tags: a birthday collision is expected after about 4,100 ids
        candidate = uuid.UUID(int=n)
        twin = tags.setdefault(event_tag(candidate), candidate)
        if twin != candidate:
            break
    assert twin != candidate and event_tag(twin) == event_tag(candidate)
    forged_context = signed(key, event=twin)
    assert _reason(forged_context, {key.kid: key.public_key}, event_id=candidate) == "bad_signature"


def test_expiry_is_inclusive_to_the_second(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    for now in (ISSUED, VALID_UNTIL, VALID_UNTIL + timedelta(microseconds=999_999)):
        assert verify_ticket(payload, keys, now=now, event_id=EVENT, organization_id=ORG).ticket_id == TICKET
    with pytest.raises(TicketVerificationError) as info:
        verify_ticket(payload, keys, now=VALID_UNTIL + timedelta(seconds=1), event_id=EVENT, organization_id=ORG)
    assert info.value.reason == "expired" and info.value.ticket_id == TICKET


def test_validity_end_is_a_week_after_the_event() -> None:
    ends = datetime(2026, 3, 14, 23, 0, tzinfo=UTC)
    assert validity_end(ends) == datetime(2026, 3, 21, 23, 0, tzinfo=UTC)


def test_malformed(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    body = payload[len(PREFIX) :]
    out_of_range = PREFIX + "ZZZ" + body[3:]  # 35 + 35*45 + 35*2025 = 72485 > 65535: no bytes encode to it
    bx1 = "BX1." + "A" * 173
    for bad in ("", "hello", payload[:-1], payload + "0", payload[:-3], "BX3:" + body, "BX2." + body, bx1):
        assert _reason(bad, keys) == "malformed", bad
    for bad in (out_of_range, payload[:20] + "#" + payload[21:], payload[:20] + "é" + payload[21:]):
        assert _reason(bad, keys) == "malformed", bad


def test_signing_refuses_bad_input(key: SigningKey) -> None:
    with pytest.raises(ValueError):
        signed(key, valid_until=VALID_UNTIL.replace(tzinfo=None))
    with pytest.raises(ValueError):
        signed(key, issued=datetime(1969, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):
        signed(key, org="")
    with pytest.raises(ValueError):
        signed(SigningKey(key.private_key, "abcdef"))
