"""Ed25519 ticket-signing keys: generation, PEM storage, key ids and the public JWK export.

The key id (``kid``) is the first 8 hex characters of SHA-256 over the raw 32-byte public key: stable
for a key, derivable by anyone holding the public key, and short enough to travel in every QR payload
(as 4 raw bytes). Public keys are published as JWKs of type OKP (RFC 8037)::

    {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "1a2b3c4d", "x": "<base64url>"}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KID_BYTES = 4


@dataclass(frozen=True)
class SigningKey:
    """A private signing key with its key id."""

    private_key: Ed25519PrivateKey
    kid: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @classmethod
    def from_private(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        return cls(private_key, key_id(private_key.public_key()))


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32-byte raw encoding of ``public_key``."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id of ``public_key``: 8 lower-case hex characters, the same on every machine."""
    return hashlib.sha256(raw_public_bytes(public_key)).digest()[:KID_BYTES].hex()


def generate_signing_key() -> SigningKey:
    """A new random key pair."""
    return SigningKey.from_private(Ed25519PrivateKey.generate())


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """``private_key`` as unencrypted PKCS#8 PEM (the file itself is the protection: mode 0600)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def save_private_key(private_key: Ed25519PrivateKey, path: Path, *, overwrite: bool = False) -> None:
    """Write ``private_key`` to ``path`` as PEM, readable by the owner only (0600).

    The file appears atomically and complete: readers never see a partial key. Without ``overwrite``,
    an existing file is left untouched and ``FileExistsError`` is raised, so a key that has signed
    tickets is never lost by accident.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates with 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(private_key_pem(private_key))
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path exists: no check-then-write race
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_private_key(path: Path) -> SigningKey:
    """The key stored at ``path``; ``ValueError`` when the file is not an Ed25519 private key PEM."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return SigningKey.from_private(key)


def load_or_create(path: Path) -> SigningKey:
    """The key at ``path``, creating it first when missing (dev default).

    Safe when several processes (API, worker) start at once: exactly one key wins and all load it.
    """
    if not path.exists():
        # FileExistsError: another process created it between the check and the link; use theirs.
        with contextlib.suppress(FileExistsError):
            save_private_key(Ed25519PrivateKey.generate(), path)
    return load_private_key(path)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """``public_key`` as an OKP JWK carrying its ``kid``."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": key_id(public_key),
        "x": _b64url(raw_public_bytes(public_key)),
    }


def public_jwks(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    """The document served at ``/.well-known/boxoffice/keys.json``: ``{"keys": [jwk, ...]}``."""
    return {"keys": [public_jwk(k) for k in public_keys]}


def keys_from_jwks(jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[str, Ed25519PublicKey]:
    """Public keys by kid, from a ``{"keys": [...]}`` document or a bare list of JWKs.

    Every JWK must be an Ed25519 OKP key whose ``kid`` matches its key (a mislabelled key is an error,
    not silently trusted under the wrong id). Raises ``ValueError`` otherwise.
    """
    items = jwks.get("keys", []) if isinstance(jwks, Mapping) else jwks
    result: dict[str, Ed25519PublicKey] = {}
    for jwk in items:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError("not an Ed25519 OKP JWK")
        try:
            public_key = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))
        except (KeyError, ValueError, binascii.Error) as exc:
            raise ValueError(f"bad JWK x: {exc}") from None
        kid = key_id(public_key)
        if jwk.get("kid", kid) != kid:
            raise ValueError(f"JWK kid {jwk.get('kid')!r} does not match its key ({kid})")
        result[kid] = public_key
    return result
