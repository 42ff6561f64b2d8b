"""Ticket codes, signing keys, signed QR payloads, gate bundles and the keys/gate CLI (no services needed)."""

from __future__ import annotations

import argparse
import json
import stat
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from boxoffice.ticketing import cli as ticketing_cli
from boxoffice.ticketing.codes import (
    ALPHABET,
    code_from_seed,
    format_code,
    generate_code,
    is_valid_code,
    normalize_code,
    ticket_seed,
)
from boxoffice.ticketing.keys import (
    SigningKey,
    generate_signing_key,
    key_id,
    keys_from_jwks,
    load_or_create,
    load_private_key,
    public_jwk,
    public_jwks,
    raw_public_bytes,
    save_private_key,
)
from boxoffice.ticketing.qr import make_qr, qr_svg, qr_version
from boxoffice.ticketing.tokens import (
    PAYLOAD_LENGTH,
    PREFIX,
    TicketVerificationError,
    sign_ticket,
    verify_ticket,
    verify_with_bundle,
)

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
DURING = datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000001")
OTHER_EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000002")
TICKET = uuid.UUID("9f1e2d3c-0000-4000-8000-0000000000aa")
QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")


# --- codes -------------------------------------------------------------------------------------------------


def _sample_codes() -> list[str]:
    return [generate_code() for _ in range(20)] + [code_from_seed(bytes([i]), b"k") for i in range(20)]


def test_alphabet_has_no_look_alikes_and_prime_size() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert all(31 % d for d in range(2, 31)), "the check character's guarantees need a prime alphabet size"
    assert set(ALPHABET) <= set(string.digits + string.ascii_uppercase)


def test_generated_codes_are_valid_and_formatted() -> None:
    for code in _sample_codes():
        assert len(code) == 16 and set(code) <= set(ALPHABET)
        assert is_valid_code(code)
        formatted = format_code(code)
        assert len(formatted) == 19 and [formatted[i] for i in (4, 9, 14)] == ["-", "-", "-"]
        assert normalize_code(formatted) == code


def test_check_character_catches_every_single_substitution() -> None:
    for code in _sample_codes():
        for i, original in enumerate(code):
            for replacement in ALPHABET:
                if replacement != original:
                    typo = code[:i] + replacement + code[i + 1 :]
                    assert not is_valid_code(typo), (code, typo)


def test_check_character_catches_every_transposition() -> None:
    # Adjacent swaps are the common typo; the weighted mod-31 sum also catches swaps at any distance.
    checked = 0
    for code in _sample_codes():
        for i in range(16):
            for j in range(i + 1, 16):
                if code[i] != code[j]:
                    swapped = list(code)
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    assert not is_valid_code("".join(swapped)), (code, i, j)
                    checked += 1
    assert checked > 1000


def test_normalize_accepts_what_people_type() -> None:
    code = code_from_seed(b"x", b"k")
    grouped = format_code(code)
    for typed in (grouped.lower(), grouped.replace("-", " "), f"  {code.lower()} ", grouped.replace("-", "\u2013")):
        assert normalize_code(typed) == code and is_valid_code(typed)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in code)  # e.g. from a CJK input method
    assert normalize_code(fullwidth) == code


@pytest.mark.parametrize("bad", ["", "ABCD", "0" * 16, "O" * 16, "I" * 16])
def test_invalid_codes_rejected(bad: str) -> None:
    assert not is_valid_code(bad)
    with pytest.raises(ValueError):
        format_code(bad)


def test_excluded_look_alikes_are_not_guessed() -> None:
    code = code_from_seed(b"y", b"k")
    for look_alike in "0O1IL":
        assert not is_valid_code(look_alike + code[1:])


def test_code_from_seed_is_deterministic_and_keyed() -> None:
    order = uuid.UUID(int=1)
    seed = ticket_seed(order, 0, 0)
    assert code_from_seed(seed, b"secret") == code_from_seed(seed, b"secret")
    assert code_from_seed(seed, b"secret") != code_from_seed(seed, b"other secret")
    keys = {(o, line, i) for o in (order, uuid.UUID(int=2)) for line in range(3) for i in range(3)}
    derived = {code_from_seed(ticket_seed(*k), b"secret") for k in keys}
    assert len(derived) == len(keys)
    # Pinned: a change of derivation would give a retried issuing step after a deploy a different code.
    assert code_from_seed(b"seed", b"secret") == "JQU6KFF3AU2QGV7E"


# --- keys --------------------------------------------------------------------------------------------------


def test_key_file_roundtrip_is_private_and_not_overwritten(tmp_path: Path) -> None:
    key = generate_signing_key()
    path = tmp_path / "keys" / "signing.pem"
    save_private_key(key.private_key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_private_key(path)
    assert loaded.kid == key.kid and len(key.kid) == 8 and int(key.kid, 16) >= 0
    assert raw_public_bytes(loaded.public_key) == raw_public_bytes(key.public_key)

    with pytest.raises(FileExistsError):
        save_private_key(generate_signing_key().private_key, path)
    assert load_private_key(path).kid == key.kid
    replacement = generate_signing_key()
    save_private_key(replacement.private_key, path, overwrite=True)
    assert load_private_key(path).kid == replacement.kid
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]  # no temporary files left


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "dev.pem"
    first = load_or_create(path)
    assert path.exists()
    assert load_or_create(path).kid == first.kid


def test_load_rejects_other_key_types(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError):
        load_private_key(path)


def test_jwks_export_and_import() -> None:
    a, b = generate_signing_key(), generate_signing_key()
    document = public_jwks([a.public_key, b.public_key])
    jwk = document["keys"][0]
    assert {jwk["kty"], jwk["crv"], jwk["alg"], jwk["kid"]} == {"OKP", "Ed25519", "EdDSA", a.kid}
    for form in (document, document["keys"], json.loads(json.dumps(document))):
        imported = keys_from_jwks(form)
        assert set(imported) == {a.kid, b.kid}
        assert raw_public_bytes(imported[b.kid]) == raw_public_bytes(b.public_key)


def test_jwks_rejects_mislabelled_and_foreign_keys() -> None:
    a = generate_signing_key()
    mislabelled = {**public_jwk(a.public_key), "kid": "00000000"}
    with pytest.raises(ValueError, match="does not match"):
        keys_from_jwks([mislabelled])
    with pytest.raises(ValueError):
        keys_from_jwks([{**public_jwk(a.public_key), "crv": "X25519"}])
    with pytest.raises(ValueError):
        keys_from_jwks([{**public_jwk(a.public_key), "x": "too-short"}])


# --- signed payloads ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key()


@pytest.fixture(scope="module")
def payload(key: SigningKey) -> str:
    return sign_ticket(key.private_key, key.kid, TICKET, EVENT, VALID_UNTIL, ISSUED)


def _reason(
    payload: str, keys: Mapping[str, Ed25519PublicKey], *, now: datetime = DURING, event_id: uuid.UUID | None = EVENT
) -> str:
    with pytest.raises(TicketVerificationError) as info:
        verify_ticket(payload, keys, now=now, event_id=event_id)
    return info.value.reason


def _replace_char(payload: str, index: int) -> str:
    """``payload`` with one base32 character changed (still decodable)."""
    new = "B" if payload[index] != "B" else "C"
    return payload[:index] + new + payload[index + 1 :]


def test_round_trip(key: SigningKey, payload: str) -> None:
    ticket = verify_ticket(payload, {key.kid: key.public_key}, now=DURING, event_id=EVENT)
    assert (ticket.ticket_id, ticket.event_id, ticket.kid) == (TICKET, EVENT, key.kid)
    assert (ticket.issued_at, ticket.valid_until) == (ISSUED, VALID_UNTIL)
    assert verify_ticket(payload.lower(), {key.kid: key.public_key}, now=DURING, event_id=None) == ticket


def test_payload_is_compact_and_qr_alphanumeric(key: SigningKey, payload: str) -> None:
    assert payload.startswith(PREFIX)
    assert len(payload) == PAYLOAD_LENGTH == 177
    assert set(payload) <= QR_ALPHANUMERIC
    assert sign_ticket(key.private_key, key.kid, TICKET, EVENT, VALID_UNTIL, ISSUED) == payload


def test_tampering_breaks_the_signature(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    # Characters 4..11 after the prefix encode bytes of the ticket id; -5 lies in the signature.
    for index in (len(PREFIX) + 10, len(PREFIX) + 40, len(payload) - 5):
        assert _reason(_replace_char(payload, index), keys) == "bad_signature"


def test_key_claimed_by_another_signer_is_a_bad_signature(key: SigningKey) -> None:
    impostor = generate_signing_key()
    forged = sign_ticket(impostor.private_key, key.kid, TICKET, EVENT, VALID_UNTIL, ISSUED)
    assert _reason(forged, {key.kid: key.public_key}) == "bad_signature"


def test_unknown_key(key: SigningKey, payload: str) -> None:
    assert _reason(payload, {}) == "unknown_key"
    other = generate_signing_key()
    assert _reason(payload, {other.kid: other.public_key}) == "unknown_key"
    assert _reason(_replace_char(payload, len(PREFIX)), {key.kid: key.public_key}) == "unknown_key"


def test_wrong_event(key: SigningKey, payload: str) -> None:
    assert _reason(payload, {key.kid: key.public_key}, event_id=OTHER_EVENT) == "wrong_event"
    # Checked before expiry: a ticket for another event is never "expired" here.
    late = VALID_UNTIL + timedelta(days=1)
    assert _reason(payload, {key.kid: key.public_key}, event_id=OTHER_EVENT, now=late) == "wrong_event"


def test_expiry_is_inclusive_to_the_second(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    assert verify_ticket(payload, keys, now=VALID_UNTIL, event_id=EVENT).ticket_id == TICKET
    with pytest.raises(TicketVerificationError) as info:
        verify_ticket(payload, keys, now=VALID_UNTIL + timedelta(seconds=1), event_id=EVENT)
    assert info.value.reason == "expired" and info.value.ticket_id == TICKET


def test_malformed(key: SigningKey, payload: str) -> None:
    keys = {key.kid: key.public_key}
    non_base32 = payload[:20] + "1" + payload[21:]
    # The final character carries one spare bit: its twin decodes to the same bytes but is refused.
    last = payload[-1]
    twin = payload[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".index(last) ^ 1]
    for bad in ("", "hello", payload[:-1], payload + "A", "BX2" + payload[3:], non_base32, twin):
        assert _reason(bad, keys) == "malformed", bad


def test_naive_datetimes_refused(key: SigningKey) -> None:
    with pytest.raises(ValueError):
        sign_ticket(key.private_key, key.kid, TICKET, EVENT, VALID_UNTIL.replace(tzinfo=None), ISSUED)
    with pytest.raises(ValueError):
        sign_ticket(key.private_key, "abc", TICKET, EVENT, VALID_UNTIL, ISSUED)


# --- gate bundle -------------------------------------------------------------------------------------------


def _bundle(key: SigningKey, *, revoked: tuple[uuid.UUID, ...] = (), event_id: uuid.UUID = EVENT) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "keys": public_jwks([key.public_key])["keys"],
        "revoked_ticket_ids": [str(t) for t in revoked],
        "generated_at": ISSUED.isoformat(),
    }


def test_bundle_verdicts(key: SigningKey, payload: str) -> None:
    def verdict(bundle: dict[str, Any], now: datetime = DURING) -> tuple[bool, str, uuid.UUID | None]:
        v = verify_with_bundle(payload, bundle, now)
        return v.valid, v.reason, v.ticket_id

    late = VALID_UNTIL + timedelta(seconds=1)
    assert verdict(_bundle(key)) == (True, "valid", TICKET)
    assert verdict({**_bundle(key), "keys": public_jwks([key.public_key])}) == (True, "valid", TICKET)
    assert verdict(_bundle(key, revoked=(uuid.uuid4(),))) == (True, "valid", TICKET)
    assert verdict(_bundle(key, revoked=(TICKET,))) == (False, "revoked", TICKET)
    assert verdict(_bundle(key), now=late) == (False, "expired", TICKET)
    assert verdict(_bundle(key, revoked=(TICKET,)), now=late) == (False, "revoked", TICKET)
    assert verdict(_bundle(key, event_id=OTHER_EVENT)) == (False, "wrong_event", TICKET)
    assert verdict(_bundle(generate_signing_key())) == (False, "unknown_key", None)
    assert verify_with_bundle("garbage", _bundle(key), DURING).reason == "malformed"


def test_malformed_bundle_raises(key: SigningKey, payload: str) -> None:
    with pytest.raises(ValueError):
        verify_with_bundle(payload, {"keys": []}, DURING)
    with pytest.raises(ValueError):
        verify_with_bundle(payload, {**_bundle(key), "event_id": "not-a-uuid"}, DURING)


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
    assert _run(["gate", "verify", "--bundle", str(bundle), _replace_char(payload, len(payload) - 5)]) == 1
    assert capsys.readouterr().out == "invalid: bad_signature\n"

    bundle.write_text("{not json")
    assert _run(["gate", "verify", "--bundle", str(bundle), payload]) == 2


def test_cli_keys_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "signing.pem"
    assert _run(["keys", "generate", "--out", str(out)]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    key = load_private_key(out)
    assert printed["kid"] == key.kid == key_id(key.public_key)
    assert printed["public_key"] == public_jwk(key.public_key)["x"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    assert _run(["keys", "generate", "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert load_private_key(out).kid == key.kid
    assert _run(["keys", "generate", "--out", str(out), "--force"]) == 0
    assert load_private_key(out).kid != key.kid


# --- QR ------------------------------------------------------------------------------------------------------


def test_qr_of_a_real_payload_is_version_7_alphanumeric(payload: str) -> None:
    assert qr_version(payload) == 7  # 45x45 modules; a byte-mode encoding of the same bytes needs 9
    qr = make_qr(payload)
    assert qr.mode == "alphanumeric" and qr.error in ("M", "Q", "H")


def test_qr_svg_forms(payload: str) -> None:
    standalone = qr_svg(payload, scale=4)
    assert standalone.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in standalone
    assert 'width="212"' in standalone  # (45 modules + 2 * 4 quiet zone) * 4 px
    inline = qr_svg(payload, inline=True)
    assert 'viewBox="0 0 53 53"' in inline and "width=" not in inline
