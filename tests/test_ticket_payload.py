"""Signed QR payloads (BX2): size and QR version, tampering, verification order, gate bundles and the gate CLI."""

from __future__ import annotations

import argparse
import io
import json
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base45
import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from boxoffice.ticketing import cli as ticketing_cli
from boxoffice.ticketing.keys import (
    SigningKey,
    generate_signing_key,
    public_jwks,
)
from boxoffice.ticketing.qr import make_qr, qr_svg, qr_version
from boxoffice.ticketing.tokens import (
    PAYLOAD_LENGTH,
    PREFIX,
    TicketVerificationError,
    decode_payload,
    event_tag,
    make_gate_bundle,
    sign_ticket,
    validity_end,
    verify_ticket,
    verify_with_bundle,
)

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
DURING = datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000001")
OTHER_EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000002")
ORG = "demo"
TICKET = uuid.UUID("9f1e2d3c-0000-4000-8000-0000000000aa")
QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
V6_M_ALPHANUMERIC_CAPACITY = 154  # ISO/IEC 18004 table 7


# --- signed payloads ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key()


def _sign(
    key: SigningKey,
    ticket: uuid.UUID = TICKET,
    *,
    event: uuid.UUID = EVENT,
    org: str = ORG,
    valid_until: datetime = VALID_UNTIL,
    issued: datetime = ISSUED,
) -> str:
    return sign_ticket(
        key, ticket_id=ticket, event_id=event, organization_id=org, valid_until=valid_until, issued_at=issued
    )


@pytest.fixture(scope="module")
def payload(key: SigningKey) -> str:
    return _sign(key)


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


def _group_start(byte_index: int) -> int:
    """Where the base45 group holding raw byte ``byte_index`` starts in a payload."""
    return len(PREFIX) + 3 * (byte_index // 2)


def _tweak(payload: str, byte_index: int) -> str:
    """``payload`` with the group holding ``byte_index`` changed by one, still canonical base45."""
    i = _group_start(byte_index)
    value = B45.index(payload[i])
    return payload[:i] + B45[value - 1 if value else value + 1] + payload[i + 1 :]


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
    assert _sign(key) == payload  # deterministic
    for _ in range(200):
        p = _sign(key, uuid.uuid4(), event=uuid.uuid4(), org=str(uuid.uuid4()))
        assert len(p) == PAYLOAD_LENGTH and set(p) <= QR_ALPHANUMERIC
        assert p == p.strip()  # safe to trim what scanners append
        assert base45.b45encode(base45.b45decode(p[len(PREFIX) :])).decode() == p[len(PREFIX) :]


def test_longest_real_payload_fits_qr_version_6_at_m(key: SigningKey) -> None:
    # Every field has a fixed width, so the longest payload is any payload; these are the extreme values,
    # and the organisation id (bound by the signature, carried as a tag) does not lengthen it.
    longest = _sign(
        key,
        uuid.UUID(int=2**128 - 1),
        event=uuid.UUID(int=2**128 - 1),
        org="o" * 500,
        valid_until=datetime.fromtimestamp(2**32 - 1, UTC),
        issued=datetime.fromtimestamp(2**32 - 1, UTC),
    )
    assert len(longest) == PAYLOAD_LENGTH <= V6_M_ALPHANUMERIC_CAPACITY
    qr = segno.make(longest, error="m", micro=False, boost_error=False)
    assert (qr.version, qr.mode, qr.error) == (6, "alphanumeric", "M")
    assert qr_version(longest) == 6 and make_qr(longest).error == "M"
    assert segno.make(longest + "0" * 7, error="m", micro=False).version == 7  # the check would see growth


def test_qr_decodes_back_to_the_payload(key: SigningKey, payload: str) -> None:
    # ZXing (the engine behind most phone scanners) reads the symbol, spaces, $, % and * included.
    with_specials = next(p for p in (_sign(key, uuid.uuid4()) for _ in range(500)) if set(p) & set(" $%*"))
    for text in (payload, with_specials):
        png = io.BytesIO()
        make_qr(text).save(png, kind="png", scale=4, border=4)
        png.seek(0)
        [decoded] = zxingcpp.read_barcodes(Image.open(png))
        assert decoded.text == text and decoded.format == zxingcpp.BarcodeFormat.QRCode
        assert verify_ticket(decoded.text, {key.kid: key.public_key}, now=DURING, event_id=EVENT, organization_id=ORG)


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
        assert _reason(_tweak(payload, byte_index), keys) == "bad_signature", byte_index


def test_key_claimed_by_another_signer_is_a_bad_signature(key: SigningKey) -> None:
    impostor = SigningKey(generate_signing_key().private_key, key.kid)
    assert _reason(_sign(impostor), {key.kid: key.public_key}) == "bad_signature"


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
    forged_context = _sign(key, event=twin)
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
        _sign(key, valid_until=VALID_UNTIL.replace(tzinfo=None))
    with pytest.raises(ValueError):
        _sign(key, issued=datetime(1969, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):
        _sign(key, org="")
    with pytest.raises(ValueError):
        _sign(SigningKey(key.private_key, "abcdef"))


# --- gate bundle -------------------------------------------------------------------------------------------


def _bundle(
    key: SigningKey,
    *,
    revoked: tuple[uuid.UUID, ...] = (),
    withdrawn: tuple[str, ...] = (),
    event_id: uuid.UUID = EVENT,
) -> dict[str, Any]:
    return make_gate_bundle(
        event_id=event_id,
        organization_id=ORG,
        jwks=public_jwks([key.public_key]),
        revoked_ticket_ids=revoked,
        withdrawn_kids=withdrawn,
        generated_at=ISSUED,
    )


def test_bundle_verdicts(key: SigningKey, payload: str) -> None:
    def verdict(bundle: dict[str, Any], now: datetime = DURING) -> tuple[bool, str, uuid.UUID | None]:
        v = verify_with_bundle(payload, json.loads(json.dumps(bundle)), now)
        return v.valid, v.reason, v.ticket_id

    late = VALID_UNTIL + timedelta(seconds=1)
    assert verdict(_bundle(key)) == (True, "valid", TICKET)
    assert verdict({**_bundle(key), "keys": public_jwks([key.public_key])}) == (True, "valid", TICKET)
    without_optional = {k: v for k, v in _bundle(key).items() if k != "withdrawn_kids"}
    assert verdict(without_optional) == (True, "valid", TICKET)
    assert verdict(_bundle(key, revoked=(uuid.uuid4(),))) == (True, "valid", TICKET)
    assert verdict(_bundle(key, revoked=(TICKET,))) == (False, "revoked", TICKET)
    assert verdict(_bundle(key), now=late) == (False, "expired", TICKET)
    assert verdict(_bundle(key, revoked=(TICKET,)), now=late) == (False, "revoked", TICKET)
    assert verdict(_bundle(key, withdrawn=(key.kid,))) == (False, "revoked", None)
    assert verdict(_bundle(key, event_id=OTHER_EVENT)) == (False, "wrong_event", None)
    assert verdict({**_bundle(key), "organization_id": "elsewhere"}) == (False, "wrong_event", None)
    assert verdict(_bundle(generate_signing_key())) == (False, "unknown_key", None)
    assert verify_with_bundle("garbage", _bundle(key), DURING).reason == "malformed"


def test_malformed_bundle_raises(key: SigningKey, payload: str) -> None:
    good = _bundle(key)
    bads: list[dict[str, Any]] = [
        {"keys": []},
        {**good, "event_id": "not-a-uuid"},
        {k: v for k, v in good.items() if k != "organization_id"},
        {**good, "organization_id": ""},
        {**good, "revoked_ticket_ids": ["nope"]},
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            verify_with_bundle(payload, bad, DURING)


# --- CLI -----------------------------------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="boxoffice")
    ticketing_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_gate_verify(tmp_path: Path, key: SigningKey, payload: str, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(_bundle(key, revoked=(uuid.uuid4(),))))
    assert _run(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), payload]) == 0
    assert capsys.readouterr().out == f"valid {TICKET}\n"

    late = (VALID_UNTIL + timedelta(hours=1)).isoformat()
    assert _run(["gate", "verify", "--bundle", str(bundle), "--now", late, payload]) == 1
    assert capsys.readouterr().out == "invalid: expired\n"

    bundle.write_text(json.dumps(_bundle(key, revoked=(TICKET,))))
    assert _run(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), payload]) == 1
    assert capsys.readouterr().out == "invalid: revoked\n"

    # Without --now the real clock applies; the signature is checked before any time rule.
    assert _run(["gate", "verify", "--bundle", str(bundle), _tweak(payload, 60)]) == 1
    assert capsys.readouterr().out == "invalid: bad_signature\n"

    bundle.write_text("{not json")
    assert _run(["gate", "verify", "--bundle", str(bundle), payload]) == 2


# --- QR ------------------------------------------------------------------------------------------------------


def test_qr_svg_forms(payload: str) -> None:
    standalone = qr_svg(payload, scale=4)
    assert standalone.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in standalone
    assert 'width="196"' in standalone  # (41 modules + 2 * 4 quiet zone) * 4 px
    inline = qr_svg(payload, inline=True)
    assert 'viewBox="0 0 49 49"' in inline and "width=" not in inline
