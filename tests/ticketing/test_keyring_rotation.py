"""Rotating and withdrawing keys of the ring: old tickets stay valid until their key is withdrawn, online and at
an offline gate; what is published, refreshed and derived (codes, payloads) across rotations."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import keys_from_jwks
from boxoffice.ticketing.tokens import decode_payload
from tests.ticketing.samples import document, issue, offline, online


def test_rotation_keeps_old_tickets_and_withdrawal_revokes_them(tmp_path: Path) -> None:
    path = tmp_path / "signing_key.pem"
    ring = KeyRing.load_or_create(path)
    issuer = KeyedTicketIssuer(ring)
    old_kid = ring.signing_key.kid
    before = issue(issuer)

    new_key = KeyRing.load(path).rotate()  # e.g. the CLI, in another process
    after = issue(issuer)  # the issuer's ring refreshes itself
    assert (decode_payload(before).kid, decode_payload(after).kid) == (old_kid, new_key.kid) and old_kid != new_key.kid
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {old_kid, new_key.kid}
    assert [online(ring, p) for p in (before, after)] == ["valid", "valid"]
    assert [offline(ring, p) for p in (before, after)] == ["valid", "valid"]

    withdrawn = KeyRing.load(path).withdraw(old_kid)
    assert withdrawn.state == "withdrawn" and withdrawn.private_key is None and withdrawn.withdrawn_at is not None
    assert ring.refresh() and not ring.refresh()
    assert ring.withdrawn_kids() == [old_kid] and set(ring.verification_keys()) == {new_key.kid}
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [new_key.kid]
    assert [online(ring, p) for p in (before, after)] == ["revoked", "valid"]
    assert [offline(ring, p) for p in (before, after)] == ["revoked", "valid"]
    # Erased on disk too, the kid kept so it is never reused or forgotten.
    [gone] = [k for k in document(path)["keys"] if k["kid"] == old_kid]
    assert gone["private_key"] is None and gone["state"] == "withdrawn"


def test_withdrawal_refuses_the_active_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path)
    with pytest.raises(ValueError, match="active"):
        ring.withdraw(ring.signing_key.kid)  # the only key
    old = ring.signing_key.kid
    ring.rotate()
    with pytest.raises(ValueError, match="active"):
        ring.withdraw(ring.signing_key.kid)
    with pytest.raises(LookupError):
        ring.withdraw("beef" if old != "beef" else "cafe")
    ring.withdraw(old)
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    assert ring.withdraw(old).state == "withdrawn"  # again: nothing changes, not even the file
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp


def test_public_jwks_filtered_by_kid(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "ring.json")
    a = ring.signing_key.kid
    b = ring.rotate().kid
    c = ring.rotate().kid
    ring.withdraw(a)
    assert [k["kid"] for k in ring.public_jwks([b])["keys"]] == [b]
    assert [k["kid"] for k in ring.public_jwks([a, c])["keys"]] == [c]  # withdrawn: never published
    assert set(keys_from_jwks(ring.public_jwks())) == {b, c}
    assert ring.public_jwks([])["keys"] == []


def test_refresh_sees_another_process_rotation(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    api = KeyRing.create(path)
    assert not api.refresh()
    cli = KeyRing.load(path)
    rotated = cli.rotate()
    assert api.signing_key.kid != rotated.kid  # stale until refreshed
    assert api.refresh() and api.signing_key.kid == rotated.kid and not api.refresh()


def test_codes_survive_rotation_and_withdrawal(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "ring.json")
    issuer = KeyedTicketIssuer(ring)
    tickets = [uuid.uuid4() for _ in range(5)]
    codes = [issuer.code_for(t) for t in tickets]
    assert len(set(codes)) == 5 and all(len(c) == 19 for c in codes)
    old = ring.signing_key.kid
    ring.rotate()
    ring.withdraw(old)
    assert [KeyedTicketIssuer(KeyRing.load(ring.path)).code_for(t) for t in tickets] == codes
    # Another ring has another secret: codes cannot be derived without it.
    assert KeyedTicketIssuer(KeyRing.create(tmp_path / "other.json")).code_for(tickets[0]) != codes[0]


def test_payloads_are_deterministic_per_key(tmp_path: Path) -> None:
    issuer = KeyedTicketIssuer(KeyRing.create(tmp_path / "ring.json"))
    ticket = uuid.uuid4()
    assert issue(issuer, ticket) == issue(issuer, ticket)
