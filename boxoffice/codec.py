"""Encrypted Temporal payloads: buyers' e-mail addresses and names never reach the history in clear text.

Every payload a client or worker sends (workflow, activity, signal, update and query inputs and results, memos
and, through the failure converter, error messages and stack traces) is sealed with AES-256-GCM before it
leaves the process. The Temporal server, its database and its UI see only ciphertext; the codec endpoint
(``boxoffice.api.codec_server``) shows the clear text to operators.

Keys come from one setting, newest first::

    BOXOFFICE_PAYLOAD_KEYS="k2:<base64 of 32 random bytes>,k1:<base64 of 32 random bytes>"

A key id is 1-64 characters of ``A-Z a-z 0-9 . _ -``; the key is standard or URL-safe base64 (padding
optional) of exactly 32 bytes. New payloads use the first key; every listed key still decrypts. Rotation is
therefore: prepend a new key (``rotate_payload_keys``), deploy everywhere, and drop an old key only once no
open workflow's history (nor any history you still want to read or replay) uses it.

Operators' labels stay readable without the codec: a ``ClearText`` value (the summaries of runs, steps and timers,
the run's static details) is converted to a payload marked ``boxoffice-clear`` that the codec leaves as it is, and
so is the SDK's workflow-metadata query answer (a run's *current details*). By policy these labels never carry
personal data (ids, amounts, times and masked e-mail addresses only); ``clear_text`` masks anything that looks like
an e-mail address in them all the same, so a slip leaks at most a masked address.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
# Bound into every ciphertext with the key id: a payload sealed under one key id cannot be relabelled with
# another, and nothing sealed by another application with the same key passes as ours.
_AAD_PREFIX = b"boxoffice/temporal-payload/v1:"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CLEAR_METADATA = "boxoffice-clear"
# The SDK's answer to the UI's ``__temporal_workflow_metadata`` query: the run's definition and current details.
_WORKFLOW_METADATA_TYPE = b"temporal.api.sdk.v1.WorkflowMetadata"
_EMAIL = re.compile(r"([^\s@<>(),;:\"]+)@([^\s@<>(),;:\"]+\.[A-Za-z]{2,})")


class PayloadKeyError(ValueError):
    """A payload names a key this process does not hold (or no key at all)."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload failed authentication: it was altered, truncated or sealed under another key."""


@dataclass(frozen=True, repr=False)
class PayloadKeys:
    """The payload keys, newest first. ``current_id`` seals new payloads; all of them open old ones."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one key is required")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError("key ids must be unique")
        for key_id, key in self.keys:
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id} must be {KEY_BYTES} bytes")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self.keys)

    def to_setting(self) -> str:
        """The ``BOXOFFICE_PAYLOAD_KEYS`` value that parses back to these keys."""
        return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in self.keys)

    def __repr__(self) -> str:  # never let key material reach a log line or a traceback
        return f"PayloadKeys(ids={list(self.ids)})"


def parse_payload_keys(text: str) -> PayloadKeys:
    """Parse ``"id:base64key,id:base64key"`` (newest first) into ``PayloadKeys``.

    Raises ``ValueError`` with a one-line message naming the bad entry (by position and id, never its key).
    """
    entries = [part.strip() for part in text.split(",") if part.strip()]
    if not entries:
        raise ValueError("no keys given; expected id:base64key[,id:base64key…], newest first")
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = (p.strip() for p in entry.partition(":"))
        if not sep or not key_id or not encoded:
            raise ValueError(f"entry {position} is not id:base64key")
        try:
            key = _b64decode(encoded)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id} (entry {position}) is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"key {key_id} (entry {position}) is {len(key)} bytes; expected {KEY_BYTES}")
        keys.append((key_id, key))
    return PayloadKeys(tuple(keys))


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    alphabet = b"-_" if "-" in text or "_" in text else None
    return base64.b64decode(padded, altchars=alphabet, validate=True)


def new_payload_key_id(now: datetime | None = None) -> str:
    """A fresh key id that sorts by creation date and is unique in practice (``pk20250101-a1b2c3``)."""
    return f"pk{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(3)}"


def generate_payload_key(key_id: str | None = None) -> str:
    """One ``id:base64key`` entry holding 32 fresh random bytes, ready for ``BOXOFFICE_PAYLOAD_KEYS``."""
    return PayloadKeys(((key_id or new_payload_key_id(), secrets.token_bytes(KEY_BYTES)),)).to_setting()


def rotate_payload_keys(current: str, key_id: str | None = None) -> str:
    """``current`` with a newly generated key in front, so new payloads use it and old ones still open.

    ``current`` may be empty (the first key). Raises ``ValueError`` if it is malformed or already holds
    ``key_id``.
    """
    entry = generate_payload_key(key_id)
    return entry if not current.strip() else parse_payload_keys(f"{entry},{current}").to_setting()


def mask_email(address: str) -> str:
    """``ada.lovelace@example.org`` → ``a***@e***.org``: enough to tell two buyers apart on a call, not to write to
    them. Anything that is not an address comes back as ``***``."""
    local, at, domain = address.strip().rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not (local and at and host and dot and tld):
        return "***"
    return f"{local[0]}***@{host[0]}***.{tld}"


class ClearText(str):
    """An operator's label (a summary or details text) that is left unencrypted in workflow histories.

    Only ids, amounts, times and masked addresses belong in one; build it with ``clear_text``.
    """

    __boxoffice_clear_text__ = True


def clear_text(text: str) -> ClearText:
    """``text`` as a label left readable in histories, with every e-mail address in it masked (``mask_email``)."""
    if isinstance(text, ClearText):
        return text
    return ClearText(_EMAIL.sub(lambda m: mask_email(m.group(0)), text))


def is_clear(payload: Payload) -> bool:
    """Whether the codec leaves ``payload`` as it is: a ``ClearText`` label or the workflow-metadata answer."""
    if payload.metadata.get(CLEAR_METADATA) == b"1":
        return payload.metadata.get("encoding") == b"json/plain"
    return payload.metadata.get("messageType") == _WORKFLOW_METADATA_TYPE


class ClearTextPayloadConverter(DefaultPayloadConverter):
    """Temporal's default payload converter, marking the payloads of ``ClearText`` values ``boxoffice-clear``.

    The mark is tested by a class attribute, not ``isinstance``: inside the workflow sandbox a module may be
    imported a second time, and its class with it.
    """

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if getattr(type(value), "__boxoffice_clear_text__", False):
                payload.metadata[CLEAR_METADATA] = b"1"
        return payloads


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (its metadata included), a fresh random nonce each time.

    An encrypted payload is ``{encoding: binary/encrypted, encryption-key-id: <id>}`` with data
    ``nonce || ciphertext || tag``. Decoding passes payloads without that encoding through untouched, so
    histories written before encryption was switched on still read. Encoding leaves operators' labels clear
    (``is_clear``).
    """

    def __init__(self, keys: PayloadKeys) -> None:
        self.keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self.keys.current_id
        cipher = self._ciphers[key_id]
        aad = _AAD_PREFIX + key_id.encode()
        sealed = []
        for payload in payloads:
            if is_clear(payload):
                sealed.append(payload)
                continue
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), aad)
            sealed.append(Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}, data=data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_id is None:
            raise PayloadKeyError(f"encrypted payload has no {KEY_ID_METADATA} metadata")
        key_id = raw_id.decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload was encrypted with key {key_id!r}, which is not in BOXOFFICE_PAYLOAD_KEYS "
                f"(known: {', '.join(self.keys.ids)})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, _AAD_PREFIX + raw_id)
        except (InvalidTag, ValueError):
            raise PayloadDecryptionError(f"payload under key {key_id!r} failed authentication") from None
        return Payload.FromString(plain)


def data_converter(keys: PayloadKeys | None) -> DataConverter:
    """Temporal's default converter, encrypting with ``keys``; the plain default when ``keys`` is None.

    Failure messages and stack traces are moved into an encrypted payload as well (``Encoded failure`` in the
    clear), since an error message can quote a buyer's e-mail address. ``ClearText`` labels stay readable.
    """
    if keys is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_converter_class=ClearTextPayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
