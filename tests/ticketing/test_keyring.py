"""The signing key ring as a file: its format and safety, a bare PEM key loaded as a ring, malformed and missing
files, and processes that create or rotate the same ring at once."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from boxoffice.ticketing.codes import code_from_seed, format_code
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import generate_signing_key, raw_private_bytes, save_private_key
from tests.ticketing.samples import document, issue, online


def test_created_ring_is_private_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "data" / "signing_key.pem"
    ring = KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = document(path)
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
    before = issue(KeyedTicketIssuer(ring))

    ring.rotate()  # rewrites the file as a ring, keeping the old key and the code secret
    assert document(path)["format"] == "boxoffice-signing-keyring"
    reloaded = KeyRing.load(path)
    assert [k.state for k in reloaded.keys] == ["retired", "active"] and reloaded.keys[0].kid == old.kid
    assert KeyedTicketIssuer(reloaded).code_for(ticket) == expected_code
    assert online(reloaded, before) == "valid"


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
    path.write_text(json.dumps(change(document(path))))
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
