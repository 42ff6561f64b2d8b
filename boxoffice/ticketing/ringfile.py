"""The key ring file: its format, strict parsing, and the primitives that keep it safe to share.

One JSON document, so that a change is a single atomic rename (a manifest beside per-key PEM files would
need several files to change together)::

    {"format": "boxoffice-signing-keyring", "version": 1, "code_secret": "<base64url>",
     "keys": [{"kid": "1a2b", "state": "retired", "created_at": "2026-03-01T12:00:00+00:00",
               "withdrawn_at": null, "public_key": "<base64url>", "private_key": "-----BEGIN PRIVATE KEY-----…"}]}

Keys are listed oldest first; ``private_key`` is null for a withdrawn key. ``code_secret`` derives ticket
codes (see :class:`boxoffice.ticketing.issuer.KeyedTicketIssuer`); it is independent of the signing keys,
so codes stay stable across rotations and a withdrawn (perhaps leaked) signing key does not expose them.

A file holding a single bare PEM private key (the format before rings) reads as a ring of one active key
with the code secret that file always had (derived from the key, so existing codes do not change; that one
secret therefore shares the fate of that key). The first change rewrites it as JSON.

Writers replace the file whole (temporary file, fsync, rename; mode 0600, see
:func:`boxoffice.ticketing.keys.write_private_file`) while holding :func:`ring_lock`, an exclusive
``flock`` on ``.<name>.lock`` beside the ring, and re-read the ring under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from boxoffice.ticketing.keys import (
    b64url,
    b64url_decode,
    key_id,
    private_key_from_pem,
    private_key_pem,
    public_key_from_raw,
    raw_private_bytes,
    raw_public_bytes,
)

RING_FORMAT = "boxoffice-signing-keyring"
RING_VERSION = 1
KeyState = Literal["active", "retired", "withdrawn"]
_STATES: tuple[str, ...] = get_args(KeyState)


@dataclass(frozen=True)
class RingKey:
    """One key of a ring. ``private_key`` is None once the key is withdrawn."""

    kid: str
    state: KeyState
    created_at: datetime
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None
    withdrawn_at: datetime | None = None

    @property
    def verifies(self) -> bool:
        """Whether tickets signed by this key are accepted (active or retired)."""
        return self.state != "withdrawn"


@dataclass(frozen=True)
class RingSnapshot:
    """What one read of the ring file gave; replaced whole, so readers never see half a refresh."""

    keys: tuple[RingKey, ...]
    code_secret: bytes = field(repr=False)
    stamp: tuple[int, ...]


def legacy_code_secret(private_key: Ed25519PrivateKey) -> bytes:
    """The code secret of a bare-PEM key file: the derivation used before rings, so its codes do not change."""
    return hashlib.sha256(b"boxoffice-ticket-codes:" + raw_private_bytes(private_key)).digest()


def utc_now() -> datetime:
    """Now in UTC, to the second: the precision the ring records."""
    return datetime.now(UTC).replace(microsecond=0)


def file_stamp(st: os.stat_result) -> tuple[int, ...]:
    """What identifies one version of the file: equal stamps mean the ring did not change."""
    # A replacement is a new inode; size and times also catch an in-place edit. All equal means unchanged.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _parse_key(item: Any, source: str) -> RingKey:
    if not isinstance(item, dict) or item.get("state") not in _STATES:
        raise ValueError(f"{source}: bad key entry")
    try:
        public_key = public_key_from_raw(b64url_decode(str(item["public_key"])))
        pem = item.get("private_key")
        private_key = private_key_from_pem(str(pem).encode(), source) if pem is not None else None
        created_at = datetime.fromisoformat(str(item["created_at"]))
        withdrawn = item.get("withdrawn_at")
        withdrawn_at = datetime.fromisoformat(str(withdrawn)) if withdrawn is not None else None
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{source}: bad key entry: {exc}") from None
    if item.get("kid") != key_id(public_key):
        raise ValueError(f"{source}: kid {item.get('kid')!r} does not match its key")
    if private_key is not None and raw_public_bytes(private_key.public_key()) != raw_public_bytes(public_key):
        raise ValueError(f"{source}: key {item['kid']}: private and public halves differ")
    return RingKey(item["kid"], cast(KeyState, item["state"]), created_at, public_key, private_key, withdrawn_at)


def check_ring(keys: tuple[RingKey, ...], source: str) -> None:
    """Raise ``ValueError`` unless ``keys`` form a usable ring."""
    if len({k.kid for k in keys}) != len(keys):
        raise ValueError(f"{source}: a kid appears twice")
    if [k.state for k in keys].count("active") != 1:
        raise ValueError(f"{source}: a ring needs exactly one active key")
    if any(k.private_key is None for k in keys if k.verifies):
        raise ValueError(f"{source}: an active or retired key lacks its private key")


def _parse(data: bytes, source: str, st: os.stat_result) -> RingSnapshot:
    if data.lstrip().startswith(b"-----BEGIN"):
        private = private_key_from_pem(data, source)
        public = private.public_key()
        created = datetime.fromtimestamp(st.st_mtime, UTC).replace(microsecond=0)
        key = RingKey(key_id(public), "active", created, public, private)
        return RingSnapshot((key,), legacy_code_secret(private), file_stamp(st))
    try:
        doc = json.loads(data)
        if doc.get("format") != RING_FORMAT or doc.get("version") != RING_VERSION:
            raise ValueError("not a boxoffice key ring (format 1) or a PEM private key")
        code_secret = b64url_decode(str(doc["code_secret"]))
        keys = tuple(_parse_key(item, source) for item in doc["keys"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{source}: {exc}") from None
    if len(code_secret) < 32:
        raise ValueError(f"{source}: code_secret is shorter than 32 bytes")
    check_ring(keys, source)
    return RingSnapshot(keys, code_secret, file_stamp(st))


def dump_ring(keys: tuple[RingKey, ...], code_secret: bytes) -> bytes:
    """The file contents for ``keys`` and ``code_secret``; withdrawn keys are written without their private half."""
    doc = {
        "format": RING_FORMAT,
        "version": RING_VERSION,
        "code_secret": b64url(code_secret),
        "keys": [
            {
                "kid": k.kid,
                "state": k.state,
                "created_at": k.created_at.isoformat(),
                "withdrawn_at": k.withdrawn_at.isoformat() if k.withdrawn_at else None,
                "public_key": b64url(raw_public_bytes(k.public_key)),
                "private_key": private_key_pem(k.private_key).decode("ascii") if k.private_key else None,
            }
            for k in keys
        ],
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def read_ring(path: Path) -> RingSnapshot:
    """The ring at ``path``; ``FileNotFoundError`` when missing, ``ValueError`` (naming the file) when malformed."""
    # stat the open file, not the path: the stamp then always belongs to the bytes that were read.
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        data = f.read()
    return _parse(data, str(path), st)


@contextlib.contextmanager
def ring_lock(path: Path) -> Iterator[None]:
    """Hold the ring's change lock: one read-modify-write at a time, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
