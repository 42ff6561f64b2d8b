"""The scanner page's offline verifier (``boxoffice/gate/static/js/offline.js``, run in Chromium with WebCrypto) says
exactly what ``OfflineGate`` says, verdict by verdict, for authentic payloads and their single-character changes at
every moment around their validity end; and it trusts a gate bundle only when a key of ``keys.json`` signed exactly
those bytes (RFC 8785, non-ASCII and escaped characters included)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from boxoffice.gate import page
from boxoffice.ticketing.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, OfflineGate, sign_bundle
from boxoffice.ticketing.keys import generate_signing_key, public_jwks
from tests.gate.page_helpers import chromium, http_server
from tests.ticketing.samples import B45, DURING, EVENT, OTHER_EVENT, VALID_UNTIL, gate_bundle, signed

VERIFY = """async ([bundle, payloads, moments]) => {
  const m = await import('/gate/static/js/offline.js');
  const gate = await m.OfflineGate.create(bundle);
  const out = [];
  for (const p of payloads) {
    for (const t of moments) {
      const v = await gate.verify(p, new Date(t));
      out.push([v.valid, v.reason, v.ticketId || null]);
    }
  }
  return out;
}"""

CHECK_BUNDLES = """async ([keys, bundles]) => {
  const m = await import('/gate/static/js/offline.js');
  const trusted = await m.importKeys(keys);
  const out = [];
  for (const b of bundles) {
    try { out.push('ok ' + await m.checkBundle(b, trusted, b.event_id)); } catch (e) { out.push(e.reason || String(e)); }
  }
  return out;
}"""


def files_only() -> FastAPI:
    """An app serving the page and its files alone: the verifier needs no API."""
    app = FastAPI()
    app.include_router(page.router)
    return app


async def run_in_page(script: str, arg: Any) -> Any:
    async with http_server(files_only()) as base, chromium() as browser:
        tab = await browser.new_page()
        await tab.goto(f"{base}/gate")
        return await tab.evaluate(script, arg)


async def test_same_verdicts_as_offline_gate() -> None:
    key, retired, withdrawn = generate_signing_key(), generate_signing_key(), generate_signing_key()
    revoked = uuid.uuid4()
    bundle = json.loads(
        json.dumps(
            gate_bundle(public_jwks([key.public_key, retired.public_key]), revoked=[revoked], withdrawn=[withdrawn.kid])
        )
    )
    original = signed(key)
    payloads = [
        original,
        signed(retired, uuid.uuid4()),
        signed(key, revoked),
        signed(withdrawn),
        signed(generate_signing_key()),
        signed(key, event=OTHER_EVENT),
        signed(key, org="elsewhere"),
        "",
        "  " + original.lower() + "\n",
        "\x1c\x85" + original + "\u3000",  # what Python's strip() removes and JavaScript's trim() would not
        "\ufeff" + original,  # and the other way round
        "BX2:" + "0" * 10,
        "BX1:" + original[4:],
        original + "A",
        "BX2:" + "Ä" * 144,
        original[:50] + "#" + original[51:],
        original[:-3] + ":::",  # a group out of range
    ]
    payloads += [original[:i] + c + original[i + 1 :] for i in range(4, len(original), 5) for c in (B45[0], B45[-1])]
    moments = [DURING, VALID_UNTIL, VALID_UNTIL + timedelta(seconds=1), VALID_UNTIL + timedelta(days=1)]

    gate = OfflineGate(bundle)
    expected = []
    for payload in payloads:
        for now in moments:
            v = gate.verify(payload, now)
            expected.append([v.valid, v.reason, str(v.ticket_id) if v.ticket_id else None])
    got = await run_in_page(VERIFY, [bundle, payloads, [m.isoformat() for m in moments]])

    assert len(got) == len(expected)
    mismatches = [
        (payloads[i // len(moments)], e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g
    ]
    assert mismatches == []
    assert {e[1] for e in expected} == {
        "valid", "malformed", "wrong_event", "revoked", "unknown_key", "bad_signature", "expired"
    }  # fmt: skip


async def test_bundle_trusted_only_as_signed() -> None:
    key, stranger = generate_signing_key(), generate_signing_key()
    keys = public_jwks([key.public_key])
    bundle = gate_bundle(keys, revoked=[uuid.uuid4(), uuid.uuid4()])
    bundle.update(
        format=BUNDLE_FORMAT,
        version=BUNDLE_VERSION,
        event={"name": 'Café "☕" \\ \u0001 \u2028 Gala', "starts_at": "x", "ends_at": "y", "timezone": "UTC"},
        checkin_policy="reentry",
        ticket_type_policies={str(uuid.uuid4()): "single_entry"},
        policy_exceptions={},
        admitted_ticket_ids=[str(uuid.uuid4())],
        inside_ticket_ids=[],
    )
    good = sign_bundle(bundle, key)
    dropped_revocation = {**good, "revoked_ticket_ids": good["revoked_ticket_ids"][1:]}
    renamed = {**good, "event": {**good["event"], "name": "Cafe"}}
    later = {**good, "generated_at": "2099-01-01T00:00:00+00:00"}
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    by_stranger = sign_bundle(bundle, stranger)
    sig = good["signature"]["sig"]
    forged = {**good, "signature": {**good["signature"], "sig": ("A" if sig[0] != "A" else "B") + sig[1:]}}
    not_a_bundle = sign_bundle({**bundle, "format": "something-else"}, key)

    got = await run_in_page(
        CHECK_BUNDLES, [keys, [good, dropped_revocation, renamed, later, unsigned, by_stranger, forged, not_a_bundle]]
    )
    assert got == [
        f"ok {key.kid}",
        "bad_signature",
        "bad_signature",
        "bad_signature",
        "unsigned",
        "unknown_key",
        "bad_signature",
        "malformed",
    ]
    assert EVENT  # the samples' event is the bundle's
