"""The gate bundle: what it carries (revocations, admissions, policies), its signature over the canonical encoding,
and ``boxoffice gate verify`` refusing a bundle changed by hand or signed by a key it was not told to trust."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from boxoffice.ticketing.bundle import BundleSignatureError, canonical_json, sign_bundle, verify_bundle_signature
from boxoffice.ticketing.keys import generate_signing_key, keys_from_jwks, public_jwks
from tests.gate.helpers import bundle, buy, scan
from tests.gate.offline import gate_verify
from tests.harness import Tokens
from tests.helpers import make_event


async def test_what_the_bundle_carries(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    admin, gate = tokens.admin(), tokens.scanner()
    event = await make_event(api, admin, name="Gala")
    ga = await buy(api, tokens, event, qty=2)
    vip = await buy(api, tokens, event, qty=2, checkin_policy="reentry")
    ev = event["id"]
    inside, left = ga.tickets
    await scan(api, gate, ev, payload=inside["qr_payload"])
    await scan(api, gate, ev, payload=left["qr_payload"])
    await scan(api, gate, ev, "exit", payload=left["qr_payload"], direction="exit")
    voided = vip.tickets[0]["id"]
    assert (await api.post(f"/v1/tickets/{voided}/void", json={"reason": "x"}, headers=admin)).status_code == 200

    got = await bundle(api, admin, ev)  # org admins may fetch it as well as scanners
    assert (got["format"], got["version"], got["event_id"], got["organization_id"]) == (
        "boxoffice-gate-bundle",
        1,
        ev,
        "org1",
    )
    assert got["event"]["name"] == "Gala" and got["checkin_policy"] == "single_entry"
    assert got["revoked_ticket_ids"] == [voided]
    assert got["admitted_ticket_ids"] == sorted([inside["id"], left["id"]])
    assert got["inside_ticket_ids"] == [inside["id"]]
    assert got["ticket_type_policies"] == {ga.ticket_type["id"]: "single_entry", vip.ticket_type["id"]: "reentry"}
    assert got["policy_exceptions"] == {vip.tickets[1]["id"]: "reentry"}  # its type does not follow the event
    assert datetime.fromisoformat(got["generated_at"]) <= datetime.now(UTC)
    keys = (await api.get("/.well-known/boxoffice/keys.json")).json()
    assert verify_bundle_signature(got, keys_from_jwks(keys)) == got["signature"]["kid"]

    # The scanner of another organisation gets nothing; a buyer may not fetch it at all.
    assert (await api.get(f"/v1/events/{ev}/gate-bundle", headers=tokens.scanner(org="org2"))).status_code == 404
    assert (await api.get(f"/v1/events/{ev}/gate-bundle", headers=tokens.buyer())).status_code == 403


async def test_verify_refuses_a_bundle_it_cannot_trust(
    api: httpx.AsyncClient, tokens: Tokens, worker: Any, tmp_path: Path
) -> None:
    sale = await buy(api, tokens, qty=2)
    ev, gate = sale.event["id"], tokens.scanner()
    victim = sale.tickets[0]
    assert (await api.post(f"/v1/tickets/{victim['id']}/void", json={"reason": "x"}, headers=tokens.admin())).is_success
    signed = await bundle(api, gate, ev)
    keys = (await api.get("/.well-known/boxoffice/keys.json")).json()
    now = datetime.now(UTC)
    assert gate_verify(tmp_path, signed, victim["qr_payload"], keys=keys, now=now)[:2] == (1, "invalid: revoked\n")

    # Someone takes the voided ticket off a copy of the bundle: the signature no longer holds.
    edited = copy.deepcopy(signed)
    edited["revoked_ticket_ids"] = []
    status, out, err = gate_verify(tmp_path, edited, victim["qr_payload"], keys=keys, now=now)
    assert (status, out) == (2, "") and "bad_signature" in err
    status, _, err = gate_verify(tmp_path, edited, victim["qr_payload"], keys=None, now=now)
    assert status == 2 and "bad_signature" in err  # even against its own keys, a changed bundle is not intact

    # A bundle re-signed by another key: intact, but not by a pinned key.
    forger = generate_signing_key()

    forged = sign_bundle({**edited, "keys": edited["keys"] + public_jwks([forger.public_key])["keys"]}, forger)
    status, _, err = gate_verify(tmp_path, forged, victim["qr_payload"], keys=keys, now=now)
    assert status == 2 and "unknown_key" in err
    status, out, err = gate_verify(tmp_path, forged, victim["qr_payload"], keys=None, now=now)
    assert (status, out) == (0, f"valid {victim['id']}\n") and "origin not proven" in err  # said plainly

    # An unsigned bundle: refused when keys are pinned, taken as given (and said so) when not.
    unsigned = {k: v for k, v in signed.items() if k != "signature"}
    assert gate_verify(tmp_path, unsigned, victim["qr_payload"], keys=keys, now=now)[0] == 2
    status, out, err = gate_verify(tmp_path, unsigned, victim["qr_payload"], keys=None, now=now)
    assert (status, out) == (1, "invalid: revoked\n") and "UNSIGNED" in err


def test_canonical_encoding() -> None:
    doc = {"b": [1, {"y": True, "x": None}], "a": "Gäla ☃", "c": {}}
    assert canonical_json(doc) == '{"a":"Gäla ☃","b":[1,{"x":null,"y":true}],"c":{}}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"price": 1.5})
    key = generate_signing_key()

    signed = sign_bundle(doc, key)
    reordered = dict(reversed(list(signed.items())))  # key order is not part of what is signed
    assert verify_bundle_signature(reordered, {key.kid: key.public_key}) == key.kid
    with pytest.raises(BundleSignatureError) as refused:
        verify_bundle_signature({**signed, "a": "Gala"}, {key.kid: key.public_key})
    assert refused.value.reason == "bad_signature"
    with pytest.raises(BundleSignatureError) as unsigned:
        verify_bundle_signature(doc, {key.kid: key.public_key})
    assert unsigned.value.reason == "unsigned"
