"""Which ticket a scan names, and the refusals that do not depend on what the gate does with it.

A QR payload names its ticket only once its signature holds (:func:`verify_ticket`, against every key of the ring
that may verify); a typed code names the organisation's ticket with that code. Refusals keep the order of the
offline gate (:func:`boxoffice.ticketing.tokens.verify_with_bundle`), so a gate online and a gate with a fresh
bundle give the same answer: malformed, wrong event, withdrawn key, unknown key, bad signature; then, for a known
ticket, revoked (voided or refunded, or its key withdrawn), then expired.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.gate import admission
from boxoffice.gate.admission import REVOKED_STATES, GateState
from boxoffice.models.gate import ScanResult
from boxoffice.ticketing.codes import format_code, is_valid_code
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.tokens import TicketVerificationError, verify_ticket

# A payload's refusal (tokens' reasons) as the gate answers it, and the reason kept with it.
_PAYLOAD_REFUSALS: dict[str, tuple[ScanResult, str | None]] = {
    "malformed": (ScanResult.INVALID, "malformed"),
    "unknown_key": (ScanResult.INVALID, "unknown_key"),
    "bad_signature": (ScanResult.INVALID, "bad_signature"),
    "wrong_event": (ScanResult.WRONG_EVENT, None),
    "revoked": (ScanResult.REVOKED, "withdrawn_key"),
}


@dataclass(frozen=True)
class Refusal:
    result: ScanResult
    reason: str | None = None


@dataclass(frozen=True)
class Identified:
    """A scan's ticket: ``ticket_id`` (authentic), with its ``state`` when already read; or a ``refusal`` before
    any ticket is known. ``expired``: the payload's validity has ended (answered after revocation)."""

    ticket_id: uuid.UUID | None = None
    state: GateState | None = None
    expired: bool = False
    refusal: Refusal | None = None


def identify_payload(
    payload: str, ring: KeyRing, *, event_id: uuid.UUID, organization_id: str, now: datetime
) -> Identified:
    """The ticket an authentic ``payload`` for ``event_id`` of ``organization_id`` names, or why none."""
    try:
        ticket = verify_ticket(
            payload,
            ring.verification_keys(),
            now=now,
            event_id=event_id,
            organization_id=organization_id,
            withdrawn_kids=ring.withdrawn_kids(),
        )
    except TicketVerificationError as exc:
        if exc.reason == "expired" and exc.ticket_id is not None:
            return Identified(ticket_id=exc.ticket_id, expired=True)
        result, reason = _PAYLOAD_REFUSALS[exc.reason]
        return Identified(refusal=Refusal(result, reason))
    return Identified(ticket_id=ticket.ticket_id)


async def identify_code(session: AsyncSession, code: str, *, organization_id: str) -> Identified:
    """The organisation's ticket with the typed ``code`` (normalised as :mod:`boxoffice.ticketing.codes` does:
    case, spaces, dashes), or why none: ``malformed`` (not a code: the check character fails) or ``not_found``."""
    if not is_valid_code(code):
        return Identified(refusal=Refusal(ScanResult.INVALID, "malformed"))
    state = await admission.state_by_code(session, organization_id, format_code(code))
    if state is None:
        return Identified(refusal=Refusal(ScanResult.INVALID, "not_found"))
    return Identified(ticket_id=state.id, state=state)


def judge(
    state: GateState, *, event_id: uuid.UUID, withdrawn_kids: list[str], expired: bool, now: datetime
) -> Refusal | None:
    """Why the known ticket ``state`` is refused at ``event_id``'s gates whatever the scan's direction, or None."""
    if state.event_id != event_id:
        return Refusal(ScanResult.WRONG_EVENT)
    if state.status in REVOKED_STATES:
        return Refusal(ScanResult.REVOKED, state.status)
    if state.signing_kid is not None and state.signing_kid in withdrawn_kids:
        return Refusal(ScanResult.REVOKED, "withdrawn_key")
    if expired or (state.valid_until is not None and int(now.timestamp()) > state.valid_until.timestamp()):
        return Refusal(ScanResult.EXPIRED)
    return None
