"""Ticket codes and signing keys (no services needed); payloads are in test_payload.py, rings in test_keyring.py."""

from __future__ import annotations

import json
import stat
import string
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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
    load_private_key,
    public_jwk,
    public_jwks,
    raw_public_bytes,
    save_private_key,
)

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
    assert loaded.kid == key.kid and len(key.kid) == 4 and int(key.kid, 16) >= 0
    assert raw_public_bytes(loaded.public_key) == raw_public_bytes(key.public_key)

    with pytest.raises(FileExistsError):
        save_private_key(generate_signing_key().private_key, path)
    assert load_private_key(path).kid == key.kid
    replacement = generate_signing_key()
    save_private_key(replacement.private_key, path, overwrite=True)
    assert load_private_key(path).kid == replacement.kid
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]  # no temporary files left


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
    mislabelled = {**public_jwk(a.public_key), "kid": "0000" if a.kid != "0000" else "0001"}
    with pytest.raises(ValueError, match="does not match"):
        keys_from_jwks([mislabelled])
    with pytest.raises(ValueError):
        keys_from_jwks([{**public_jwk(a.public_key), "crv": "X25519"}])
    with pytest.raises(ValueError):
        keys_from_jwks([{**public_jwk(a.public_key), "x": "too-short"}])


def test_jwks_refuses_two_keys_under_one_kid() -> None:
    # 2-byte kids collide after a few hundred keys (birthday bound): a set must never make a kid ambiguous.
    seen: dict[str, SigningKey] = {}
    while True:
        key = generate_signing_key()
        if key.kid in seen:
            break
        seen[key.kid] = key
    first = seen[key.kid]
    assert key_id(first.public_key) == key_id(key.public_key)
    with pytest.raises(ValueError, match="share the kid"):
        keys_from_jwks(public_jwks([first.public_key, key.public_key]))
    assert set(keys_from_jwks(public_jwks([key.public_key, key.public_key]))) == {key.kid}  # a repeat is fine
