"""Ed25519 ticket-signing keys: generation, PEM, key ids, the public JWK export and private-file writing.

The key id (``kid``) is the first 4 hex characters (2 bytes) of SHA-256 over the raw 32-byte public key:
stable for a key and derivable by anyone holding the public key. It only *selects* a key (the signature
is what authenticates), so 2 bytes suffice and keep every QR payload short; a key ring never holds two
keys with the same kid (see :mod:`boxoffice.ticketing.keyring`), and a JWK set with a repeated kid is
refused. Public keys are published as JWKs of type OKP (RFC 8037)::

    {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "1a2b", "x": "<base64url>"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KID_BYTES = 2


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


def raw_private_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte raw seed of ``private_key`` (secret)."""
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id of ``public_key``: 4 lower-case hex characters, the same on every machine."""
    return hashlib.sha256(raw_public_bytes(public_key)).digest()[:KID_BYTES].hex()


def generate_signing_key() -> SigningKey:
    """A new random key pair."""
    return SigningKey.from_private(Ed25519PrivateKey.generate())


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """``private_key`` as unencrypted PKCS#8 PEM (the file holding it is the protection: mode 0600)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_from_pem(data: bytes, source: str = "key") -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM ``data``; ``ValueError`` (naming ``source``) for anything else."""
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{source}: not an Ed25519 private key")
    return key


def write_private_file(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``path``, readable by the owner only (0600), appearing atomically and complete.

    Readers never see a partial file: the data goes to a temporary file in the same directory, is
    fsynced, then linked (``overwrite=False``: ``FileExistsError`` if ``path`` exists, with no
    check-then-write race) or renamed over ``path`` (``overwrite=True``). No temporary file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates with 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
        # Make the new directory entry durable too, so a crash cannot bring back the previous file.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_private_key(private_key: Ed25519PrivateKey, path: Path, *, overwrite: bool = False) -> None:
    """Write ``private_key`` to ``path`` as a bare PEM (0600, atomic; see :func:`write_private_file`).

    Without ``overwrite`` an existing file is left untouched and ``FileExistsError`` is raised, so a key
    that has signed tickets is never lost by accident. (The service's key file is a key ring; a bare PEM
    still loads as a ring of one.)
    """
    write_private_file(path, private_key_pem(private_key), overwrite=overwrite)


def load_private_key(path: Path) -> SigningKey:
    """The key stored in the bare PEM at ``path``; ``ValueError`` when it is not an Ed25519 private key."""
    return SigningKey.from_private(private_key_from_pem(path.read_bytes(), str(path)))


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWKs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``; ``ValueError`` when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64url: {exc}") from None


def public_key_from_raw(data: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key with raw encoding ``data``; ``ValueError`` unless it is 32 bytes."""
    return Ed25519PublicKey.from_public_bytes(data)


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """``public_key`` as an OKP JWK carrying its ``kid``."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": key_id(public_key),
        "x": b64url(raw_public_bytes(public_key)),
    }


def public_jwks(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    """A JWK set document, as served at ``/.well-known/boxoffice/keys.json``: ``{"keys": [jwk, ...]}``."""
    return {"keys": [public_jwk(k) for k in public_keys]}


def keys_from_jwks(jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[str, Ed25519PublicKey]:
    """Public keys by kid, from a ``{"keys": [...]}`` document or a bare list of JWKs.

    Every JWK must be an Ed25519 OKP key whose ``kid`` matches its key (a mislabelled key is an error,
    not silently trusted under the wrong id), and no kid may appear for two different keys (a payload's
    kid must select exactly one key). Raises ``ValueError`` otherwise.
    """
    items = jwks.get("keys", []) if isinstance(jwks, Mapping) else jwks
    result: dict[str, Ed25519PublicKey] = {}
    for jwk in items:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError("not an Ed25519 OKP JWK")
        try:
            public_key = public_key_from_raw(b64url_decode(str(jwk["x"])))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"bad JWK x: {exc}") from None
        kid = key_id(public_key)
        if jwk.get("kid", kid) != kid:
            raise ValueError(f"JWK kid {jwk.get('kid')!r} does not match its key ({kid})")
        if kid in result and raw_public_bytes(result[kid]) != raw_public_bytes(public_key):
            raise ValueError(f"two different keys share the kid {kid}")
        result[kid] = public_key
    return result
