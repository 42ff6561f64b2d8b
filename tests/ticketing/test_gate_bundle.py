"""Offline gate bundles: the verdict a gate gives a payload with a bundle, and malformed bundles refused."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from boxoffice.ticketing.keys import SigningKey, generate_signing_key, public_jwks
from boxoffice.ticketing.tokens import verify_with_bundle
from tests.ticketing.samples import DURING, OTHER_EVENT, TICKET, VALID_UNTIL, key_bundle


def test_bundle_verdicts(key: SigningKey, payload: str) -> None:
    def verdict(bundle: dict[str, Any], now: datetime = DURING) -> tuple[bool, str, uuid.UUID | None]:
        v = verify_with_bundle(payload, json.loads(json.dumps(bundle)), now)
        return v.valid, v.reason, v.ticket_id

    late = VALID_UNTIL + timedelta(seconds=1)
    assert verdict(key_bundle(key)) == (True, "valid", TICKET)
    assert verdict({**key_bundle(key), "keys": public_jwks([key.public_key])}) == (True, "valid", TICKET)
    without_optional = {k: v for k, v in key_bundle(key).items() if k != "withdrawn_kids"}
    assert verdict(without_optional) == (True, "valid", TICKET)
    assert verdict(key_bundle(key, revoked=(uuid.uuid4(),))) == (True, "valid", TICKET)
    assert verdict(key_bundle(key, revoked=(TICKET,))) == (False, "revoked", TICKET)
    assert verdict(key_bundle(key), now=late) == (False, "expired", TICKET)
    assert verdict(key_bundle(key, revoked=(TICKET,)), now=late) == (False, "revoked", TICKET)
    assert verdict(key_bundle(key, withdrawn=(key.kid,))) == (False, "revoked", None)
    assert verdict(key_bundle(key, event_id=OTHER_EVENT)) == (False, "wrong_event", None)
    assert verdict({**key_bundle(key), "organization_id": "elsewhere"}) == (False, "wrong_event", None)
    assert verdict(key_bundle(generate_signing_key())) == (False, "unknown_key", None)
    assert verify_with_bundle("garbage", key_bundle(key), DURING).reason == "malformed"


def test_malformed_bundle_raises(key: SigningKey, payload: str) -> None:
    good = key_bundle(key)
    bads: list[dict[str, Any]] = [
        {"keys": []},
        {**good, "event_id": "not-a-uuid"},
        {k: v for k, v in good.items() if k != "organization_id"},
        {**good, "organization_id": ""},
        {**good, "revoked_ticket_ids": ["nope"]},
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            verify_with_bundle(payload, bad, DURING)
