"""The ticketing CLI: ``keys generate|rotate|list|withdraw`` on a ring file, and ``gate verify`` with a bundle."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import SigningKey
from tests.ticketing.samples import DURING, TICKET, VALID_UNTIL, issue, key_bundle, ring_bundle, run_cli, tweak


def _listed(out: str) -> list[tuple[str, str]]:
    header, *rows = out.splitlines()
    assert header.split() == ["kid", "state", "created"]
    for row in rows:
        datetime.fromisoformat(row.split()[2])
    return [(row.split()[0], row.split()[1]) for row in rows]


def test_cli_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring_file = tmp_path / "signing_key.pem"
    assert run_cli(["keys", "rotate", "--file", str(ring_file)]) == 2
    assert "keys generate" in capsys.readouterr().err

    assert run_cli(["keys", "generate", "--out", str(ring_file)]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    first = printed["kid"]
    assert first == KeyRing.load(ring_file).signing_key.kid and json.loads(printed["jwk"])["kid"] == first
    assert stat.S_IMODE(ring_file.stat().st_mode) == 0o600
    assert run_cli(["keys", "generate", "--out", str(ring_file)]) == 1
    assert "exists" in capsys.readouterr().err and KeyRing.load(ring_file).signing_key.kid == first

    issuer = KeyedTicketIssuer(KeyRing.load(ring_file))
    before = issue(issuer, uuid.UUID(int=1))
    assert run_cli(["keys", "rotate", "--file", str(ring_file)]) == 0
    second = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert second["retired"] == first and second["kid"] != first
    after = issue(issuer, uuid.UUID(int=2))

    assert run_cli(["keys", "list", "--file", str(ring_file)]) == 0
    assert _listed(capsys.readouterr().out) == [(first, "retired"), (second["kid"], "active")]

    assert run_cli(["keys", "withdraw", "--file", str(ring_file), second["kid"]]) == 1
    assert "active" in capsys.readouterr().err
    assert run_cli(["keys", "withdraw", "--file", str(ring_file), "beef" if first != "beef" else "cafe"]) == 1
    assert "no key" in capsys.readouterr().err
    assert run_cli(["keys", "withdraw", "--file", str(ring_file), first]) == 0
    assert capsys.readouterr().out == f"withdrawn: {first}\n"
    assert run_cli(["keys", "list", "--file", str(ring_file)]) == 0
    assert _listed(capsys.readouterr().out) == [(first, "withdrawn"), (second["kid"], "active")]

    # The gate, with a bundle built from the ring as it now is.
    ring = KeyRing.load(ring_file)
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(ring_bundle(ring)))
    assert run_cli(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), after]) == 0
    assert capsys.readouterr().out == f"valid {uuid.UUID(int=2)}\n"
    assert run_cli(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), before]) == 1
    assert capsys.readouterr().out == "invalid: revoked\n"

    ring_file.write_text("{broken")
    assert run_cli(["keys", "list", "--file", str(ring_file)]) == 2


def test_cli_gate_verify(tmp_path: Path, key: SigningKey, payload: str, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(key_bundle(key, revoked=(uuid.uuid4(),))))
    assert run_cli(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), payload]) == 0
    assert capsys.readouterr().out == f"valid {TICKET}\n"

    late = (VALID_UNTIL + timedelta(hours=1)).isoformat()
    assert run_cli(["gate", "verify", "--bundle", str(bundle), "--now", late, payload]) == 1
    assert capsys.readouterr().out == "invalid: expired\n"

    bundle.write_text(json.dumps(key_bundle(key, revoked=(TICKET,))))
    assert run_cli(["gate", "verify", "--bundle", str(bundle), "--now", DURING.isoformat(), payload]) == 1
    assert capsys.readouterr().out == "invalid: revoked\n"

    # Without --now the real clock applies; the signature is checked before any time rule.
    assert run_cli(["gate", "verify", "--bundle", str(bundle), tweak(payload, 60)]) == 1
    assert capsys.readouterr().out == "invalid: bad_signature\n"

    bundle.write_text("{not json")
    assert run_cli(["gate", "verify", "--bundle", str(bundle), payload]) == 2
