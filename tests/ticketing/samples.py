"""What the ticketing tests share: one event's dates and ids, signing a sample payload and changing one of its bytes,
gate bundles built from a key or a ring, what the online scan and an offline gate say of a payload, and the
``boxoffice`` ticketing CLI run in process."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boxoffice.ticketing import cli as ticketing_cli
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import SigningKey, public_jwks
from boxoffice.ticketing.tokens import (
    PREFIX,
    TicketVerificationError,
    make_gate_bundle,
    sign_ticket,
    verify_ticket,
    verify_with_bundle,
)

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
DURING = datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000001")
OTHER_EVENT = uuid.UUID("5b0c7d1e-0000-4000-8000-000000000002")
ORG = "demo"
TICKET = uuid.UUID("9f1e2d3c-0000-4000-8000-0000000000aa")
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


# --- payloads ------------------------------------------------------------------------------------------------


def signed(
    key: SigningKey,
    ticket: uuid.UUID = TICKET,
    *,
    event: uuid.UUID = EVENT,
    org: str = ORG,
    valid_until: datetime = VALID_UNTIL,
    issued: datetime = ISSUED,
) -> str:
    """A payload for ``ticket`` signed with ``key``: the sample event unless told otherwise."""
    return sign_ticket(
        key, ticket_id=ticket, event_id=event, organization_id=org, valid_until=valid_until, issued_at=issued
    )


def _group_start(byte_index: int) -> int:
    """Where the base45 group holding raw byte ``byte_index`` starts in a payload."""
    return len(PREFIX) + 3 * (byte_index // 2)


def tweak(payload: str, byte_index: int) -> str:
    """``payload`` with the group holding ``byte_index`` changed by one, still canonical base45."""
    i = _group_start(byte_index)
    value = B45.index(payload[i])
    return payload[:i] + B45[value - 1 if value else value + 1] + payload[i + 1 :]


def issue(issuer: KeyedTicketIssuer, ticket_id: uuid.UUID | None = None) -> str:
    """A payload for the sample event from ``issuer`` (a fresh ticket id unless given)."""
    return issuer.payload_for(ticket_id or uuid.uuid4(), EVENT, ORG, VALID_UNTIL, ISSUED)


# --- gate bundles and verdicts -------------------------------------------------------------------------------


def gate_bundle(
    jwks: Mapping[str, Any],
    *,
    revoked: Iterable[uuid.UUID] = (),
    withdrawn: Iterable[str] = (),
    event_id: uuid.UUID = EVENT,
) -> dict[str, Any]:
    """The sample organisation's gate bundle for ``event_id`` with these keys, generated at ``ISSUED``."""
    return make_gate_bundle(
        event_id=event_id,
        organization_id=ORG,
        jwks=jwks,
        revoked_ticket_ids=revoked,
        withdrawn_kids=withdrawn,
        generated_at=ISSUED,
    )


def key_bundle(
    key: SigningKey,
    *,
    revoked: tuple[uuid.UUID, ...] = (),
    withdrawn: tuple[str, ...] = (),
    event_id: uuid.UUID = EVENT,
) -> dict[str, Any]:
    """A gate bundle that publishes ``key`` alone."""
    return gate_bundle(public_jwks([key.public_key]), revoked=revoked, withdrawn=withdrawn, event_id=event_id)


def ring_bundle(ring: KeyRing) -> dict[str, Any]:
    """A gate bundle built from ``ring`` as it now is: its published keys and its withdrawn kids."""
    return gate_bundle(ring.public_jwks(), withdrawn=ring.withdrawn_kids())


def online(ring: KeyRing, payload: str) -> str:
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


def offline(ring: KeyRing, payload: str) -> str:
    """What an offline gate says with a bundle built from ``ring`` (through JSON, as it travels)."""
    return verify_with_bundle(payload, json.loads(json.dumps(ring_bundle(ring))), DURING).reason


# --- files and the CLI ---------------------------------------------------------------------------------------


def document(path: Path) -> dict[str, Any]:
    """A key ring file's JSON document."""
    return dict(json.loads(path.read_text()))


def run_cli(argv: list[str]) -> int:
    """``boxoffice <argv>`` for the ticketing commands (keys, gate), in this process; its exit status."""
    parser = argparse.ArgumentParser(prog="boxoffice")
    ticketing_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
