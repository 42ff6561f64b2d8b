"""Key rotation and withdrawal at the gate: tickets signed before and after a rotation both admit, online and
offline; keys.json and the bundle publish every key that signed a ticket still valid, plus the active key; after a
withdrawal, the old key's tickets are revoked everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.config import Settings
from boxoffice.ticketing.bundle import OfflineGate, verify_bundle_signature
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import keys_from_jwks
from boxoffice.ticketing.tokens import decode_payload
from tests.gate.helpers import Clock, bundle, buy, scan
from tests.gate.offline import gate_verify
from tests.harness import Tokens


async def published(api: httpx.AsyncClient) -> list[str]:
    r = await api.get("/.well-known/boxoffice/keys.json")
    assert r.status_code == 200
    return [k["kid"] for k in r.json()["keys"]]


async def test_rotation_then_withdrawal(
    api: httpx.AsyncClient, app: FastAPI, tokens: Tokens, settings: Settings, worker: Any, tmp_path: Path
) -> None:
    assert settings.signing_key_file is not None
    ring = KeyRing.load(settings.signing_key_file)
    old = ring.signing_key.kid
    before = await buy(api, tokens)
    ev, gate = before.event["id"], tokens.scanner()
    new = ring.rotate().kid  # what `boxoffice keys rotate` does, on the same ring file
    after = await buy(api, tokens, before.event)
    old_payload, new_payload = before.tickets[0]["qr_payload"], after.tickets[0]["qr_payload"]
    assert (decode_payload(old_payload).kid, decode_payload(new_payload).kid) == (old, new)

    assert sorted(await published(api)) == sorted([old, new])
    signed = await bundle(api, gate, ev)
    assert sorted(k["kid"] for k in signed["keys"]) == sorted([old, new])
    keys = (await api.get("/.well-known/boxoffice/keys.json")).json()
    assert verify_bundle_signature(signed, keys_from_jwks(keys)) == new  # signed by the active key
    now = datetime.now(UTC)
    for payload in (old_payload, new_payload):
        assert OfflineGate(signed).verify(payload, now).valid
        assert gate_verify(tmp_path, signed, payload, keys=keys, now=now)[0] == 0
    assert (await scan(api, gate, ev, "A", payload=old_payload))["result"] == "admitted"
    assert (await scan(api, gate, ev, "A", payload=new_payload))["result"] == "admitted"

    ring.withdraw(old)  # `boxoffice keys withdraw`: what it signed is refused from now on
    assert await published(api) == [new]
    refused = await scan(api, gate, ev, "B", payload=old_payload)
    assert (refused["result"], refused["reason"]) == ("revoked", "withdrawn_key")
    by_code = await scan(api, gate, ev, "B", ticket_code=before.tickets[0]["ticket_code"])
    assert (by_code["result"], by_code["reason"]) == ("revoked", "withdrawn_key")
    assert (await scan(api, gate, ev, "B", payload=new_payload))["result"] == "already_admitted"
    fresh = await bundle(api, gate, ev)
    assert fresh["withdrawn_kids"] == [old] and [k["kid"] for k in fresh["keys"]] == [new]
    assert OfflineGate(fresh).verify(old_payload, now).reason == "revoked"
    assert gate_verify(tmp_path, fresh, old_payload, keys=keys, now=now)[:2] == (1, "invalid: revoked\n")
    assert gate_verify(tmp_path, fresh, new_payload, keys=keys, now=now)[0] == 0


async def test_only_keys_of_valid_tickets_are_published(
    api: httpx.AsyncClient, app: FastAPI, tokens: Tokens, settings: Settings, worker: Any
) -> None:
    assert settings.signing_key_file is not None
    ring = KeyRing.load(settings.signing_key_file)
    first = ring.signing_key.kid
    sale = await buy(api, tokens)
    second = ring.rotate().kid
    third = ring.rotate().kid  # second signed nothing: not published
    assert sorted(await published(api)) == sorted([first, third])
    clock = Clock()
    app.state.gate_clock = clock
    valid_until = decode_payload(sale.tickets[0]["qr_payload"]).valid_until
    clock.at = valid_until
    assert sorted(await published(api)) == sorted([first, third])  # valid through its last second
    clock.at = valid_until + timedelta(seconds=1)
    assert await published(api) == [third]  # every ticket of the first key has expired
    assert second not in await published(api)
