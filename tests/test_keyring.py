"""The signing key ring: file format and safety, rotation, withdrawal, the issuer on a ring, and the keys CLI."""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from boxoffice.ticketing import cli as ticketing_cli
from boxoffice.ticketing.codes import code_from_seed, format_code
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import generate_signing_key, keys_from_jwks, raw_private_bytes, save_private_key
from boxoffice.ticketing.tokens import (
    TicketVerificationError,
    decode_payload,
    make_gate_bundle,
    verify_ticket,
    verify_with_bundle,
)

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
DURING = datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000001")
ORG = "demo"


def _issue(issuer: KeyedTicketIssuer, ticket_id: uuid.UUID | None = None) -> str:
    return issuer.payload_for(ticket_id or uuid.uuid4(), EVENT, ORG, VALID_UNTIL, ISSUED)


def _online(ring: KeyRing, payload: str) -> str:
    """What the API's scan would say: ``valid`` or the refusal reason."""
    try:
        verify_ticket(
            payload,
            ring.verification_keys(),
            now=DURING,
            event_id=EVENT,
            organization_id=ORG,
            withdrawn_kids=ring.withdrawn_kids(),
        )
    except TicketVerificationError as exc:
        return exc.reason
    return "valid"


def _offline(ring: KeyRing, payload: str) -> str:
    """What an offline gate says with a bundle built from ``ring`` (through JSON, as it travels)."""
    bundle = make_gate_bundle(
        event_id=EVENT,
        organization_id=ORG,
        jwks=ring.public_jwks(),
        revoked_ticket_ids=(),
        withdrawn_kids=ring.withdrawn_kids(),
        generated_at=ISSUED,
    )
    return verify_with_bundle(payload, json.loads(json.dumps(bundle)), DURING).reason


def _document(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


# --- the file ------------------------------------------------------------------------------------------------


def test_created_ring_is_private_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "data" / "signing_key.pem"
    ring = KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = _document(path)
    assert (doc["format"], doc["version"]) == ("boxoffice-signing-keyring", 1)
    [entry] = doc["keys"]
    assert (entry["kid"], entry["state"]) == (ring.signing_key.kid, "active")
    assert entry["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert KeyRing.load_or_create(path).signing_key.kid == ring.signing_key.kid  # created once
    ring.rotate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Only the ring and its lock file: every write went through a temporary file that is gone.
    assert sorted(p.name for p in path.parent.iterdir()) == [".signing_key.pem.lock", "signing_key.pem"]
    assert stat.S_IMODE((path.parent / ".signing_key.pem.lock").stat().st_mode) == 0o600


def test_a_bare_pem_key_file_loads_as_a_ring_of_one(tmp_path: Path) -> None:
    old = generate_signing_key()
    path = tmp_path / "signing_key.pem"
    save_private_key(old.private_key, path)
    ring = KeyRing.load_or_create(path)
    assert [(k.kid, k.state) for k in ring.keys] == [(old.kid, "active")]
    assert ring.signing_key.kid == old.kid
    # Codes keep the derivation a bare key always had, so a retried issuing step still gets the same code.
    legacy_secret = hashlib.sha256(b"boxoffice-ticket-codes:" + raw_private_bytes(old.private_key)).digest()
    ticket = uuid.uuid4()
    expected_code = format_code(code_from_seed(ticket.bytes, secret=legacy_secret))
    assert KeyedTicketIssuer(ring).code_for(ticket) == expected_code
    before = _issue(KeyedTicketIssuer(ring))

    ring.rotate()  # rewrites the file as a ring, keeping the old key and the code secret
    assert _document(path)["format"] == "boxoffice-signing-keyring"
    reloaded = KeyRing.load(path)
    assert [k.state for k in reloaded.keys] == ["retired", "active"] and reloaded.keys[0].kid == old.kid
    assert KeyedTicketIssuer(reloaded).code_for(ticket) == expected_code
    assert _online(reloaded, before) == "valid"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "format": "something-else"},
        lambda d: {**d, "keys": [{**d["keys"][0], "state": "retired"}]},  # no active key
        lambda d: {**d, "keys": [d["keys"][0], d["keys"][0]]},  # a kid twice, two active
        lambda d: {**d, "keys": [{**d["keys"][0], "kid": "zzzz"}]},
        lambda d: {**d, "keys": [{**d["keys"][0], "private_key": None}]},  # active without its private key
        lambda d: {**d, "code_secret": "c2hvcnQ"},
        lambda d: {**d, "keys": [{**d["keys"][0], "state": "lost"}]},
    ],
)
def test_malformed_rings_are_refused(tmp_path: Path, change: Any) -> None:
    path = tmp_path / "ring.json"
    KeyRing.create(path)
    path.write_text(json.dumps(change(_document(path))))
    with pytest.raises(ValueError):
        KeyRing.load(path)


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    with pytest.raises(FileNotFoundError):
        KeyRing.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError):
        KeyRing.load(path)
    with pytest.raises(FileExistsError):
        KeyRing.create(path)
    assert KeyRing.create(path, overwrite=True).signing_key.kid == KeyRing.load(path).signing_key.kid


def _start_together(path: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    out.put(KeyRing.load_or_create(Path(path)).signing_key.kid)


def _rotate_many(path: str, barrier: Any, times: int) -> None:
    barrier.wait()
    ring = KeyRing.load(Path(path))
    for _ in range(times):
        ring.rotate()


def test_processes_starting_together_agree_on_one_ring(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    path = tmp_path / "signing_key.pem"
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_start_together, args=(str(path), barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    kids = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(set(kids)) == 1 and kids[0] == KeyRing.load(path).signing_key.kid


def test_concurrent_rotations_all_land_and_readers_never_see_a_partial_ring(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    path = tmp_path / "signing_key.pem"
    first = KeyRing.create(path).signing_key.kid
    workers, times = 3, 4
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_rotate_many, args=(str(path), barrier, times)) for _ in range(workers)]
    for p in procs:
        p.start()
    while True:
        KeyRing.load(path)  # raises if it ever met a half-written file
        if not any(p.is_alive() for p in procs):
            break
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    ring = KeyRing.load(path)
    # Under the lock each rotation re-reads the ring, so none is lost to another's write.
    assert len(ring.keys) == 1 + workers * times and len({k.kid for k in ring.keys}) == len(ring.keys)
    assert [k.state for k in ring.keys].count("active") == 1 and ring.keys[-1].state == "active"
    assert ring.keys[0].kid == first


# --- rotation and withdrawal ---------------------------------------------------------------------------------


def test_rotation_keeps_old_tickets_and_withdrawal_revokes_them(tmp_path: Path) -> None:
    path = tmp_path / "signing_key.pem"
    ring = KeyRing.load_or_create(path)
    issuer = KeyedTicketIssuer(ring)
    old_kid = ring.signing_key.kid
    before = _issue(issuer)

    new_key = KeyRing.load(path).rotate()  # e.g. the CLI, in another process
    after = _issue(issuer)  # the issuer's ring refreshes itself
    assert (decode_payload(before).kid, decode_payload(after).kid) == (old_kid, new_key.kid) and old_kid != new_key.kid
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {old_kid, new_key.kid}
    assert [_online(ring, p) for p in (before, after)] == ["valid", "valid"]
    assert [_offline(ring, p) for p in (before, after)] == ["valid", "valid"]

    withdrawn = KeyRing.load(path).withdraw(old_kid)
    assert withdrawn.state == "withdrawn" and withdrawn.private_key is None and withdrawn.withdrawn_at is not None
    assert ring.refresh() and not ring.refresh()
    assert ring.withdrawn_kids() == [old_kid] and set(ring.verification_keys()) == {new_key.kid}
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [new_key.kid]
    assert [_online(ring, p) for p in (before, after)] == ["revoked", "valid"]
    assert [_offline(ring, p) for p in (before, after)] == ["revoked", "valid"]
    # Erased on disk too, the kid kept so it is never reused or forgotten.
    [gone] = [k for k in _document(path)["keys"] if k["kid"] == old_kid]
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
    assert _issue(issuer, ticket) == _issue(issuer, ticket)


# --- CLI -----------------------------------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="boxoffice")
    ticketing_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def _listed(out: str) -> list[tuple[str, str]]:
    header, *rows = out.splitlines()
    assert header.split() == ["kid", "state", "created"]
    for row in rows:
        datetime.fromisoformat(row.split()[2])
    return [(row.split()[0], row.split()[1]) for row in rows]


def test_cli_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring_file = tmp_path / "signing_key.pem"
    assert _run(["keys", "rotate", "--file", str(ring_file)]) == 2
    assert "keys generate" in capsys.readouterr().err

    assert _run(["keys", "generate", "--out", str(ring_file)]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    first = printed["kid"]
    assert first == KeyRing.load(ring_file).signing_key.kid and json.loads(printed["jwk"])["kid"] == first
    assert stat.S_IMODE(ring_file.stat().st_mode) == 0o600
    assert _run(["keys", "generate", "--out", str(ring_file)]) == 1
    assert "exists" in capsys.readouterr().err and KeyRing.load(ring_file).signing_key.kid == first

    issuer = KeyedTicketIssuer(KeyRing.load(ring_file))
    before = _issue(issuer, uuid.UUID(int=1))
    assert _run(["keys", "rotate", "--file", str(ring_file)]) == 0
    second = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert second["retired"] == first and second["kid"] != first
    after = _issue(issuer, uuid.UUID(int=2))

    assert _run(["keys", "list", "--file", str(ring_file)]) == 0
    assert _listed(capsys.readouterr().out) == [(first, "retired"), (second["kid"], "active")]

    assert _run(["keys", "withdraw", "--file", str(ring_file), second["kid"]]) == 1
    assert "active" in capsys.readouterr().err
    assert _run(["keys", "withdraw", "--file", str(ring_file), "beef" if first != "beef" else "cafe"]) == 1
    assert "no key" in capsys.readouterr().err
    assert _run(["keys", "withdraw", "--file", str(ring_file), first]) == 0
    assert capsys.readouterr().out == f"withdrawn: {first}\n"
    assert _run(["keys", "list", "--file", str(ring_file)]) == 0
    assert _listed(capsys.readouterr().out) == [(first, "withdrawn"), (second["kid"], "active")]

    # The gate, with a bundle built from the ring as it now is.
    ring = KeyRing.load(ring_file)
    bundle = tmp_path / "bundle.json"
    bundle.write_text(
        json.dumps(
            make_gate_bundle(
                event_id=EVENT,
                organization_id=ORG,
                jwks=ring.public_jwks(),
                revoked_ticket_ids=(),
                withdrawn_kids=ring.withdrawn_kids(),
                generated_at=ISSUED,
            )
        )
    )
    assert _run(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), after]) == 0
    assert capsys.readouterr().out == f"valid {uuid.UUID(int=2)}\n"
    assert _run(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), before]) == 1
    assert capsys.readouterr().out == "invalid: revoked\n"

    ring_file.write_text("{broken")
    assert _run(["keys", "list", "--file", str(ring_file)]) == 2
