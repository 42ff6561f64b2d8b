"""The offline gate that reads its bundle once (``OfflineGate``) gives exactly ``verify_with_bundle``'s verdict, for
authentic payloads and for every single-character change of them, at every moment around their validity end."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from boxoffice.ticketing.bundle import OfflineGate
from boxoffice.ticketing.keys import generate_signing_key, public_jwks
from boxoffice.ticketing.tokens import verify_with_bundle
from tests.ticketing.samples import B45, DURING, EVENT, OTHER_EVENT, VALID_UNTIL, gate_bundle, signed


def test_same_verdicts_as_verify_with_bundle() -> None:
    key, retired, withdrawn = generate_signing_key(), generate_signing_key(), generate_signing_key()
    revoked = uuid.uuid4()
    bundle = json.loads(
        json.dumps(
            gate_bundle(public_jwks([key.public_key, retired.public_key]), revoked=[revoked], withdrawn=[withdrawn.kid])
        )
    )
    payloads = [
        signed(key),
        signed(retired, uuid.uuid4()),
        signed(key, revoked),
        signed(withdrawn),
        signed(generate_signing_key()),
        signed(key, event=OTHER_EVENT),
        signed(key, org="elsewhere"),
        "",
        "  " + signed(key).lower() + "\n",
        "BX2:" + "0" * 10,
        "BX1:" + signed(key)[4:],
        signed(key) + "A",
        "BX2:" + "Ä" * 144,
    ]
    original = signed(key)
    payloads += [original[:i] + c + original[i + 1 :] for i in range(4, len(original), 7) for c in (B45[0], B45[-1])]
    payloads += [original[:50] + "#" + original[51:], original[:-3] + ":::"]  # not base45; a group out of range
    gate = OfflineGate(bundle)
    moments = [DURING, VALID_UNTIL, VALID_UNTIL + timedelta(seconds=1), VALID_UNTIL + timedelta(days=1)]
    seen = set()
    for payload in payloads:
        for now in moments:
            expected = verify_with_bundle(payload, bundle, now)
            assert gate.verify(payload, now) == expected, (payload, now)
            seen.add(expected.reason)
    assert seen == {"valid", "malformed", "wrong_event", "revoked", "unknown_key", "bad_signature", "expired"}
    assert OfflineGate({**bundle, "event_id": str(EVENT)}).verify(original, DURING).valid


def test_malformed_bundles_are_refused() -> None:
    good = gate_bundle(public_jwks([generate_signing_key().public_key]))
    bads: list[dict[str, Any]] = [
        {"keys": []},
        {**good, "event_id": "x"},
        {**good, "organization_id": ""},
        {**good, "keys": [{}]},
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            OfflineGate(bad)
