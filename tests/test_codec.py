"""The payload codec: keys (parsing, generation, rotation) and encryption through a real DataConverter, failures
included. The codec-server endpoint is in ``test_codec_server.py``, a real Temporal history in
``test_codec_history.py``."""

from __future__ import annotations

import base64
import re

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from boxoffice.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    data_converter,
    generate_payload_key,
    parse_payload_keys,
    rotate_payload_keys,
)
from tests.codec_samples import EMAIL, NAME, OLD, ROTATED, Person, key_entry, seal

# --- keys -------------------------------------------------------------------------------------------------


def test_keys_parse_newest_first_in_either_base64_alphabet() -> None:
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    keys = parse_payload_keys(f" k2:{urlsafe} , {key_entry('k1', 1)} ")
    assert keys.current_id == "k2"
    assert keys.ids == ("k2", "k1")
    assert dict(keys.keys)["k2"] == b"\xfb" * 32
    assert parse_payload_keys(keys.to_setting()) == keys
    assert "\\xfb" not in repr(keys) and urlsafe not in repr(keys)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "no keys"),
        (" , ", "no keys"),
        ("k1", "entry 1 is not id:base64key"),
        (f"{key_entry('k2', 2)},k1:", "entry 2 is not id:base64key"),
        ("k1:not*base64", "k1 (entry 1) is not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "is 16 bytes; expected 32"),
        (f"{key_entry('k1', 1)},{key_entry('k1', 2)}", "unique"),
        (key_entry("k 1", 1), "must be 1-64"),
    ],
)
def test_malformed_keys_are_refused_in_one_line_without_key_material(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)) as err:
        parse_payload_keys(text)
    message = str(err.value)
    assert "\n" not in message
    assert base64.b64encode(bytes([1]) * 32).decode() not in message


def test_generated_and_rotated_keys() -> None:
    first, second = generate_payload_key(), generate_payload_key("next")
    assert parse_payload_keys(first).current_id != parse_payload_keys(second).current_id
    assert dict(parse_payload_keys(first).keys) != dict(parse_payload_keys(second).keys)
    rotated = parse_payload_keys(rotate_payload_keys(first, "k9"))
    assert rotated.ids == ("k9", parse_payload_keys(first).current_id)
    assert rotated.keys[1] == parse_payload_keys(first).keys[0]
    assert parse_payload_keys(rotate_payload_keys("")).current_id.startswith("pk")
    with pytest.raises(ValueError, match="unique"):
        rotate_payload_keys(rotated.to_setting(), "k9")


# --- the codec through a real DataConverter ---------------------------------------------------------------


async def test_round_trip_hides_the_buyer_and_uses_a_fresh_nonce() -> None:
    buyer = Person(EMAIL, NAME)
    first, second = await seal(buyer, OLD), await seal(buyer, OLD)
    for payload in (*first, *second):
        raw = payload.SerializeToString()
        assert EMAIL.encode() not in raw and NAME.encode() not in raw
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID_METADATA] == b"k1"
    assert first[0].data != second[0].data
    assert await data_converter(OLD).decode(first, [Person]) == [buyer]


async def test_rotation_keeps_old_payloads_readable_and_seals_new_ones_with_the_newest_key() -> None:
    old_payloads = await seal(Person(EMAIL, NAME), OLD)
    assert await data_converter(ROTATED).decode(old_payloads, [Person]) == [Person(EMAIL, NAME)]
    new_payloads = await seal(Person(EMAIL, NAME), ROTATED)
    assert new_payloads[0].metadata[KEY_ID_METADATA] == b"k2"
    with pytest.raises(PayloadKeyError, match=r"'k2'.*not in BOXOFFICE_PAYLOAD_KEYS"):
        await data_converter(OLD).decode(new_payloads, [Person])


async def test_tampered_or_relabelled_ciphertext_is_refused() -> None:
    payload = (await seal(Person(EMAIL, NAME), OLD))[0]
    flipped = Payload()
    flipped.CopyFrom(payload)
    flipped.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await EncryptionCodec(OLD).decode([flipped])
    # Same key bytes under two ids: the key id is bound into the ciphertext, so relabelling fails too.
    twins = parse_payload_keys(f"{key_entry('k1', 1)},{key_entry('alias', 1)}")
    relabelled = Payload()
    relabelled.CopyFrom(payload)
    relabelled.metadata[KEY_ID_METADATA] = b"alias"
    assert await EncryptionCodec(twins).decode([payload]) == await EncryptionCodec(OLD).decode([payload])
    with pytest.raises(PayloadDecryptionError):
        await EncryptionCodec(twins).decode([relabelled])
    truncated = Payload(metadata=dict(payload.metadata), data=payload.data[:5])
    with pytest.raises(PayloadDecryptionError):
        await EncryptionCodec(OLD).decode([truncated])


async def test_payloads_from_before_encryption_pass_through() -> None:
    plain = await DataConverter.default.encode([Person(EMAIL, NAME)])
    assert EMAIL.encode() in plain[0].data
    assert await data_converter(ROTATED).decode(plain, [Person]) == [Person(EMAIL, NAME)]


async def test_an_encrypted_payload_without_a_key_id_is_an_error() -> None:
    payload = (await seal("x", OLD))[0]
    del payload.metadata[KEY_ID_METADATA]
    with pytest.raises(PayloadKeyError, match="no encryption-key-id"):
        await EncryptionCodec(OLD).decode([payload])


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter(OLD)
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no seat left for {EMAIL}", type="SoldOut"), failure)
    assert EMAIL.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and EMAIL in decoded.message


def test_without_keys_the_plain_default_converter_is_used() -> None:
    assert data_converter(None) is DataConverter.default
