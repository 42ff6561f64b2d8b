"""The ticket-signing key ring: every key that may verify a ticket, in one private file.

``BOXOFFICE_SIGNING_KEY_FILE`` names the ring (format: :mod:`boxoffice.ticketing.ringfile`; a bare PEM key
file from before rings loads as a ring of one). Each key has a state:

* ``active``: exactly one; it signs new tickets (it is always the newest: :meth:`KeyRing.rotate` adds a
  new active key and retires the previous one);
* ``retired``: no longer signs, still verifies, so tickets it signed keep working;
* ``withdrawn``: refused, and with it every ticket it signed (gate bundles list it in ``withdrawn_kids``).
  Its private half is erased on withdrawal; the kid and public key stay, so the kid is never reused.

Concurrency: creation uses an exclusive link, so processes starting together agree on one ring; changes
hold the ring's lock and re-read the file under it, so two concurrent rotations both land; readers only
ever see a complete file. Running processes (API, worker) see a change through :meth:`KeyRing.refresh`,
a single ``stat`` when nothing changed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from boxoffice.ticketing.keys import SigningKey, key_id, public_jwks, write_private_file
from boxoffice.ticketing.ringfile import (
    KeyState,
    RingKey,
    RingSnapshot,
    check_ring,
    dump_ring,
    file_stamp,
    read_ring,
    ring_lock,
    utc_now,
)

__all__ = ["KeyRing", "KeyState", "RingKey"]


def _new_key(taken: Iterable[str], state: KeyState = "active") -> RingKey:
    """A fresh key whose kid is not in ``taken`` (2-byte kids can collide; a ring never holds a kid twice)."""
    used = set(taken)
    while True:
        private = Ed25519PrivateKey.generate()
        if key_id(private.public_key()) not in used:
            return RingKey(key_id(private.public_key()), state, utc_now(), private.public_key(), private)


class KeyRing:
    """The signing keys at ``path``, as of the last load or :meth:`refresh`. Build with a classmethod."""

    def __init__(self, path: Path, snapshot: RingSnapshot) -> None:
        self.path = path
        self._snap = snapshot

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """The ring at ``path`` (or a bare PEM key as a ring of one). ``FileNotFoundError`` when missing,
        ``ValueError`` when malformed."""
        return cls(path, read_ring(path))

    @classmethod
    def create(cls, path: Path, *, overwrite: bool = False) -> KeyRing:
        """A new ring of one active key and a fresh code secret, written to ``path`` (0600).

        Without ``overwrite`` an existing file is kept and ``FileExistsError`` raised: a replaced ring
        loses the keys that signed issued tickets.
        """
        data = dump_ring((_new_key(()),), secrets.token_bytes(32))
        with ring_lock(path):
            write_private_file(path, data, overwrite=overwrite)
            return cls.load(path)

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """The ring at ``path``, creating one first when the file is missing (the dev default).

        Safe when several processes start at once: creation is an exclusive link, so exactly one ring wins
        and every process loads that one.
        """
        if not path.exists():
            data = dump_ring((_new_key(()),), secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
                write_private_file(path, data)
        return cls.load(path)

    # --- reading ----------------------------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[RingKey, ...]:
        """Every key, oldest first, withdrawn ones included."""
        return self._snap.keys

    @property
    def signing_key(self) -> SigningKey:
        """The active key, which signs new tickets."""
        active = next(k for k in self._snap.keys if k.state == "active")
        assert active.private_key is not None  # _check guarantees it
        return SigningKey(active.private_key, active.kid)

    @property
    def code_secret(self) -> bytes:
        """The secret ticket codes derive from; the same before and after any rotation or withdrawal."""
        return self._snap.code_secret

    def verification_keys(self) -> dict[str, Ed25519PublicKey]:
        """Public keys by kid of every key that may verify a ticket (active and retired)."""
        return {k.kid: k.public_key for k in self._snap.keys if k.verifies}

    def public_jwks(self, kids: Iterable[str] | None = None) -> dict[str, list[dict[str, str]]]:
        """``{"keys": [jwk, ...]}`` of the keys that may verify, oldest first; only those in ``kids`` when given.

        A withdrawn key is never published, even when asked for by kid.
        """
        wanted = set(kids) if kids is not None else None
        return public_jwks(k.public_key for k in self._snap.keys if k.verifies and (wanted is None or k.kid in wanted))

    def withdrawn_kids(self) -> list[str]:
        """The kids of withdrawn keys, oldest first: payloads naming them must be refused."""
        return [k.kid for k in self._snap.keys if not k.verifies]

    def refresh(self) -> bool:
        """Reload the ring if its file changed since the last read; whether it did.

        Costs one ``stat`` when nothing changed, so callers may run it before every signing or publishing.
        Raises like :meth:`load` when the file is gone or malformed (the last good keys are then kept).
        """
        if file_stamp(os.stat(self.path)) == self._snap.stamp:
            return False
        self._snap = read_ring(self.path)
        return True

    # --- changing ---------------------------------------------------------------------------------------------

    def _change(self, change: Callable[[tuple[RingKey, ...]], tuple[RingKey, ...]]) -> None:
        """Apply ``change`` to the ring as it is on disk now, under the lock, and write the result atomically."""
        with ring_lock(self.path):
            current = read_ring(self.path)
            keys = change(current.keys)
            if keys is not current.keys:  # a no-op change leaves the file (and its stamp) alone
                check_ring(keys, str(self.path))
                write_private_file(self.path, dump_ring(keys, current.code_secret), overwrite=True)
            self._snap = read_ring(self.path)

    def rotate(self) -> SigningKey:
        """Add a new active key, retiring the previous one (which keeps verifying); the new key.

        Processes holding the ring start signing with the new key at their next :meth:`refresh`.
        """

        def change(keys: tuple[RingKey, ...]) -> tuple[RingKey, ...]:
            retired = tuple(replace(k, state="retired") if k.state == "active" else k for k in keys)
            return (*retired, _new_key(k.kid for k in keys))

        self._change(change)
        return self.signing_key

    def withdraw(self, kid: str) -> RingKey:
        """Withdraw the retired key ``kid``: it stops verifying, so every ticket it signed is refused; its
        private half is erased. Withdrawing an already withdrawn key changes nothing.

        ``LookupError`` for an unknown kid; ``ValueError`` for the active key (rotate first, so something
        still signs).
        """

        def change(keys: tuple[RingKey, ...]) -> tuple[RingKey, ...]:
            match = next((k for k in keys if k.kid == kid), None)
            if match is None:
                raise LookupError(f"no key {kid!r} in {self.path}")
            if match.state == "active":
                raise ValueError(f"key {kid} is the active signing key; rotate first, then withdraw it")
            if match.state == "withdrawn":
                return keys
            gone = replace(match, state="withdrawn", private_key=None, withdrawn_at=utc_now())
            return tuple(gone if k is match else k for k in keys)

        self._change(change)
        return next(k for k in self._snap.keys if k.kid == kid)
