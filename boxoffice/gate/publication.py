"""What the gates are given: the public keys (``keys.json``) and an event's signed gate bundle.

Both publish every key that signed a live ticket (active, scanned or used) still within its validity, plus the
ring's active key (it signs the tickets issued next); a withdrawn key is never published (its tickets are refused).
Each ticket's signing key and validity end are stored at issue, so this is a lookup, not a decoding of payloads.

The gate bundle (see :mod:`boxoffice.ticketing.bundle` for its signature) carries, besides what
:func:`boxoffice.ticketing.tokens.verify_with_bundle` reads (event, organisation, keys, revoked ticket ids,
withdrawn kids, generated_at):

- ``checkin_policy`` (the event's), ``ticket_type_policies`` (each type's effective policy) and
  ``policy_exceptions`` (ticket id → policy, for tickets whose type does not follow the event: a payload does not
  name its type, so an offline gate looks its ticket up here);
- ``admitted_ticket_ids`` (admitted before ``generated_at``: scanned or used) and ``inside_ticket_ids`` (of those,
  the ones not scanned out), so an offline gate can refuse a second entry it did not see itself;
- ``event``: name, times and time zone, for the gate's screen.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.gate.admission import ADMITTED_STATES, REVOKED_STATES
from boxoffice.gate.policy import effective_policy
from boxoffice.models import Event, Ticket, TicketType
from boxoffice.models.states import TicketStatus
from boxoffice.ticketing.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, sign_bundle
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.tokens import make_gate_bundle

LIVE_STATES = (TicketStatus.ACTIVE.value, *ADMITTED_STATES)


async def published_kids(session: AsyncSession, ring: KeyRing, now: datetime) -> list[str]:
    """The kids ``keys.json`` publishes: the active key's, and each verifying key's that signed a live ticket
    valid at ``now`` (one index probe per key of the ring)."""
    active = ring.signing_key.kid
    kids = [active]
    for kid in ring.verification_keys():
        if kid == active:
            continue
        signed_live = exists().where(
            col(Ticket.signing_kid) == kid, col(Ticket.valid_until) >= now, col(Ticket.status).in_(LIVE_STATES)
        )
        if (await session.execute(select(signed_live))).scalar():
            kids.append(kid)
    return kids


async def gate_bundle(session: AsyncSession, ring: KeyRing, event: Event, now: datetime) -> dict[str, Any]:
    """``event``'s gate bundle as of ``now``, signed by the ring's active key (one read of the event's tickets)."""
    types = (await session.execute(select(TicketType).where(col(TicketType.event_id) == event.id))).scalars()
    type_policy = {tt.id: effective_policy(event.checkin_policy, tt.checkin_policy).value for tt in types}
    rows = await session.execute(
        select(
            col(Ticket.id),
            col(Ticket.status),
            col(Ticket.inside),
            col(Ticket.signing_kid),
            col(Ticket.valid_until),
            col(Ticket.ticket_type_id),
        ).where(col(Ticket.event_id) == event.id)
    )
    revoked: list[uuid.UUID] = []
    admitted: list[str] = []
    inside: list[str] = []
    exceptions: dict[str, str] = {}
    kids = {ring.signing_key.kid}
    for ticket_id, status, is_inside, kid, valid_until, type_id in rows:
        if status in REVOKED_STATES:
            revoked.append(ticket_id)
            continue
        if kid is not None and valid_until is not None and valid_until >= now:
            kids.add(kid)
        if status in ADMITTED_STATES:
            admitted.append(str(ticket_id))
            if is_inside:
                inside.append(str(ticket_id))
        if type_policy.get(type_id, event.checkin_policy) != event.checkin_policy:
            exceptions[str(ticket_id)] = type_policy[type_id]
    bundle = make_gate_bundle(
        event_id=event.id,
        organization_id=event.organization_id,
        jwks=ring.public_jwks(kids),
        revoked_ticket_ids=revoked,
        withdrawn_kids=ring.withdrawn_kids(),
        generated_at=now,
    )
    bundle.update(
        format=BUNDLE_FORMAT,
        version=BUNDLE_VERSION,
        event={
            "name": event.name,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "timezone": event.timezone,
        },
        checkin_policy=event.checkin_policy,
        ticket_type_policies={str(k): v for k, v in sorted(type_policy.items())},
        policy_exceptions=dict(sorted(exceptions.items())),
        admitted_ticket_ids=sorted(admitted),
        inside_ticket_ids=sorted(inside),
    )
    return sign_bundle(bundle, ring.signing_key)
