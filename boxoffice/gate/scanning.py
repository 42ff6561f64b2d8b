"""The scan service: one attempt at a gate, answered, applied atomically and recorded.

Guarantees:
- the answer follows the offline gate's order of refusals (see :mod:`boxoffice.gate.identify`), then the ticket's
  state and check-in policy;
- a ticket is admitted by one conditional update (see :mod:`boxoffice.gate.admission`): two gates scanning it at
  the same moment admit it once; the other is told ``already_admitted``, with when and where it got in;
- the same gate re-reading the same ticket (same direction) within the replay window gets the same answer again,
  ``replayed``, and no new entry is counted; the database alone decides the same as the cache (see
  :mod:`boxoffice.gate.replay`), so API replicas agree;
- every attempt is recorded in ``scans`` in the same transaction as its effect; an event that is not the scanner's
  organisation's is ``404 event_not_found`` and nothing is recorded.

The clock is injectable (``GateScanner.clock``), so tests can scan at any moment of a ticket's validity.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.db import Database
from boxoffice.errors import NotFound
from boxoffice.gate import admission
from boxoffice.gate.admission import ADMITTED_STATES, Admission, GateState, ScanRecord
from boxoffice.gate.identify import Identified, Refusal, identify_code, identify_payload, judge
from boxoffice.gate.policy import allows_reentry
from boxoffice.gate.replay import RecentScans
from boxoffice.models import Event
from boxoffice.models.gate import Direction, ScanResult
from boxoffice.models.states import TicketStatus
from boxoffice.models.types import utcnow
from boxoffice.ticketing.keyring import KeyRing

_RACE_RETRIES = 5
_LET_THROUGH = (ScanResult.ADMITTED, ScanResult.EXITED)


@dataclass(frozen=True)
class ScanRequest:
    """One read at a gate: a QR ``payload`` or a typed ``ticket_code`` (exactly one)."""

    organization_id: str
    scanner_id: str
    event_id: uuid.UUID
    gate_id: str
    direction: Direction
    payload: str | None = None
    ticket_code: str | None = None


@dataclass(frozen=True)
class ScanOutcome:
    """The gate's answer. Ticket fields are set once the ticket is known; ``first_*`` is its first admission."""

    result: ScanResult
    direction: Direction
    scanned_at: datetime
    reason: str | None = None
    ticket_id: uuid.UUID | None = None
    scan_count: int | None = None
    first_scanned_at: datetime | None = None
    first_gate_id: str | None = None
    last_gate_id: str | None = None
    last_scanned_at: datetime | None = None
    inside: bool | None = None
    replayed: bool = False


def _from_state(
    state: GateState, result: ScanResult, direction: Direction, now: datetime, **changes: object
) -> ScanOutcome:
    outcome = ScanOutcome(
        result=result,
        direction=direction,
        scanned_at=now,
        ticket_id=state.id,
        scan_count=state.scan_count,
        first_scanned_at=state.scanned_at,
        first_gate_id=state.first_gate_id,
        last_gate_id=state.last_gate_id,
        last_scanned_at=state.last_scanned_at,
        inside=state.inside,
    )
    return replace(outcome, **changes)  # type: ignore[arg-type]


def _from_admission(
    ticket_id: uuid.UUID, a: Admission, result: ScanResult, req: ScanRequest, now: datetime
) -> ScanOutcome:
    return ScanOutcome(
        result=result,
        direction=req.direction,
        scanned_at=now,
        ticket_id=ticket_id,
        scan_count=a.scan_count,
        first_scanned_at=a.scanned_at,
        first_gate_id=a.first_gate_id,
        last_gate_id=a.last_gate_id,
        last_scanned_at=a.last_scanned_at,
        inside=result is ScanResult.ADMITTED,
    )


@dataclass(frozen=True)
class _Acted:
    outcome: ScanOutcome
    fingerprint: tuple[str, int, bool] | None  # the ticket as the answer left it (None: not to be replayed)
    recorded: bool = False


class GateScanner:
    """Scans for one API process: its replay cache and the events it has seen are its own, the database is shared."""

    def __init__(
        self,
        db: Database,
        ring: KeyRing,
        *,
        window_seconds: int,
        cache_size: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.ring, self.clock = db, ring, clock
        self.window = timedelta(seconds=window_seconds)
        self.recent: RecentScans[ScanOutcome] = RecentScans(cache_size, self.window)
        self._events: set[tuple[str, uuid.UUID]] = set()  # events never move between organisations

    async def scan(
        self, req: ScanRequest, *, at: datetime | None = None, scan_id: uuid.UUID | None = None
    ) -> ScanOutcome:
        """Answer, apply and record one scan (see the module's guarantees). ``NotFound`` (event_not_found).

        ``at``: an offline gate's scan uploaded later (see :mod:`boxoffice.gate.uploads`), judged and applied as of
        that moment and kept out of the replay cache; ``scan_id``: the id of its record (the device's key)."""
        outcome = await self._scan(req, at, scan_id)
        metrics.SCANS.labels(outcome.result.value, outcome.direction.value).inc()  # issue 11: once it committed
        return outcome

    async def _scan(self, req: ScanRequest, at: datetime | None, scan_id: uuid.UUID | None) -> ScanOutcome:
        now = at or self.clock()
        self.ring.refresh()  # a rotation or withdrawal takes effect without a restart (one stat when unchanged)
        via = "qr" if req.payload is not None else "code"
        # An uploaded scan's record says ``offline`` where its answer gives no reason of its own.
        offline = None if at is None else "offline"
        rec = ScanRecord(
            req.organization_id,
            req.event_id,
            req.gate_id,
            req.direction,
            via,
            req.scanner_id,
            now,
            reason=offline,
            id=scan_id,
        )
        async with self.db.transaction() as session:
            await self._check_event(session, req)
            if req.payload is not None:
                found = identify_payload(
                    req.payload, self.ring, event_id=req.event_id, organization_id=req.organization_id, now=now
                )
            else:
                found = await identify_code(session, req.ticket_code or "", organization_id=req.organization_id)
            if found.refusal is not None or found.ticket_id is None:
                refusal = found.refusal or Refusal(ScanResult.INVALID, "not_found")
                outcome = ScanOutcome(refusal.result, req.direction, now, reason=refusal.reason)
                await admission.record(
                    session, replace(rec, result=outcome.result, reason=outcome.reason or rec.reason)
                )
                return outcome
            return await self._known(session, req, found, found.ticket_id, rec, now, cached=at is None)

    async def _check_event(self, session: AsyncSession, req: ScanRequest) -> None:
        key = (req.organization_id, req.event_id)
        if key in self._events:
            return
        stmt = select(col(Event.id)).where(col(Event.id) == req.event_id, col(Event.organization_id) == key[0])
        if (await session.execute(stmt)).first() is None:
            raise NotFound("event not found", code="event_not_found")
        self._events.add(key)

    async def _known(
        self,
        session: AsyncSession,
        req: ScanRequest,
        found: Identified,
        ticket_id: uuid.UUID,
        rec: ScanRecord,
        now: datetime,
        *,
        cached: bool,
    ) -> ScanOutcome:
        rec = replace(rec, ticket_id=ticket_id)
        key = (req.organization_id, req.event_id, req.gate_id, req.direction.value, ticket_id)
        hit = self.recent.get(key, now) if cached else None  # an upload's moment is past: the cache is for now
        if hit is not None:
            # An entry or exit the gate already let through is told again as such, flagged: nothing new is counted.
            again = replace(hit.answer, scanned_at=now, replayed=hit.answer.result in _LET_THROUGH)
            replayed = replace(rec, result=again.result, reason=again.reason, replayed=again.replayed)
            if await admission.record_if_unchanged(session, replayed, hit.fingerprint):
                return again
            self.recent.forget(key)  # the ticket changed since: decide afresh

        acted: _Acted | None = None
        if found.state is None and req.direction is Direction.ENTRY and not found.expired:
            # The common case first, in one statement: an active ticket's first admission.
            first = await admission.admit_first(
                session, ticket_id, req.event_id, req.gate_id, replace(rec, result=ScanResult.ADMITTED)
            )
            if first is not None:
                outcome = _from_admission(ticket_id, first, ScanResult.ADMITTED, req, now)
                acted = _Acted(outcome, (TicketStatus.SCANNED.value, first.scan_count, True), recorded=True)
        state = found.state
        for _ in range(_RACE_RETRIES):
            if acted is not None:
                break
            state = state or await admission.state_by_id(session, ticket_id)
            if state is None or state.organization_id != req.organization_id:
                rec = replace(rec, ticket_id=None)  # authentic, yet not (or no longer) in this database
                acted = _Acted(ScanOutcome(ScanResult.INVALID, req.direction, now, reason="not_found"), None)
                break
            refusal = judge(
                state, event_id=req.event_id, withdrawn_kids=self.ring.withdrawn_kids(), expired=found.expired, now=now
            )
            if refusal is not None:
                outcome = _from_state(state, refusal.result, req.direction, now, reason=refusal.reason)
                acted = _Acted(outcome, state.fingerprint)
                break
            acted = await self._act(session, state, req, rec, now)
            state = None  # lost a race: read the ticket again
        if acted is None:  # five races lost in a row: another gate is admitting it right now
            state = await admission.state_by_id(session, ticket_id)
            assert state is not None
            acted = _Acted(_from_state(state, ScanResult.ALREADY_ADMITTED, req.direction, now), None)
        outcome = acted.outcome
        if not acted.recorded:
            done = replace(rec, result=outcome.result, reason=outcome.reason or rec.reason, replayed=outcome.replayed)
            await admission.record(session, done)
        if acted.fingerprint is not None and cached:
            self.recent.put(key, outcome, acted.fingerprint, now)
        return outcome

    async def _act(
        self, session: AsyncSession, state: GateState, req: ScanRequest, rec: ScanRecord, now: datetime
    ) -> _Acted | None:
        """What the scan does to a ticket that is not refused; None when another gate changed it first."""
        if req.direction is Direction.EXIT:
            return await self._exit(session, state, req, now)
        if state.status == TicketStatus.ACTIVE:
            first = await admission.admit_first(
                session, state.id, req.event_id, req.gate_id, replace(rec, result=ScanResult.ADMITTED)
            )
            if first is None:
                return None
            fingerprint = (TicketStatus.SCANNED.value, first.scan_count, True)
            return _Acted(_from_admission(state.id, first, ScanResult.ADMITTED, req, now), fingerprint, recorded=True)
        assert state.status in ADMITTED_STATES
        if state.inside:
            last = state.last_scanned_at
            if state.last_gate_id == req.gate_id and last is not None and last <= now <= last + self.window:
                outcome = _from_state(state, ScanResult.ADMITTED, req.direction, now, replayed=True)
                return _Acted(outcome, state.fingerprint)
            return _Acted(_from_state(state, ScanResult.ALREADY_ADMITTED, req.direction, now), state.fingerprint)
        if not allows_reentry(state.policy):
            outcome = _from_state(state, ScanResult.ALREADY_ADMITTED, req.direction, now, reason="reentry_not_allowed")
            return _Acted(outcome, state.fingerprint)
        again = await admission.readmit(session, state, req.gate_id, now)
        if again is None:
            return None
        fingerprint = (state.status, again.scan_count, True)
        return _Acted(_from_admission(state.id, again, ScanResult.ADMITTED, req, now), fingerprint)

    async def _exit(self, session: AsyncSession, state: GateState, req: ScanRequest, now: datetime) -> _Acted | None:
        if state.status == TicketStatus.ACTIVE:
            return _Acted(_from_state(state, ScanResult.NOT_INSIDE, req.direction, now, reason="never_admitted"), None)
        if state.inside:
            out = await admission.let_out(session, state.id)
            if out is None:
                return None
            outcome = replace(_from_admission(state.id, out, ScanResult.EXITED, req, now), inside=False)
            return _Acted(outcome, (state.status, out.scan_count, False))
        # Not inside: the same gate re-reading the exit it just let through is told so again.
        last = await admission.last_exit(session, state.id)
        admitted_at = state.last_scanned_at
        if (
            last is not None
            and last[0] == req.gate_id
            and last[1] <= now <= last[1] + self.window
            and (admitted_at is None or admitted_at <= last[1])
        ):
            return _Acted(_from_state(state, ScanResult.EXITED, req.direction, now, replayed=True), state.fingerprint)
        return _Acted(_from_state(state, ScanResult.NOT_INSIDE, req.direction, now), state.fingerprint)
