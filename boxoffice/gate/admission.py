"""The database side of a scan: a ticket's gate state, the conditional updates that admit or let out, and the record
of every attempt.

Every change is one conditional ``UPDATE … WHERE`` on the ticket's row, naming the state it starts from, so two
gates scanning one ticket at the same moment change it once: on PostgreSQL the second update waits for the first's
row lock and then finds its condition false; on SQLite, transactions begin ``IMMEDIATE`` (see ``db.py``), so
writers queue. The loser reads the new state and answers from it. ``scanned_at`` and ``first_gate_id`` are set by
the first admission only; ``last_gate_id`` and ``last_scanned_at`` by every admission.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Uuid, bindparam, func, insert, select, true, update
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.gate.policy import effective_policy
from boxoffice.models import Event, Scan, Ticket, TicketType
from boxoffice.models.states import TicketStatus, sources_of
from boxoffice.models.types import UTCDateTime

_T = Ticket.__table__  # type: ignore[attr-defined]
_S = Scan.__table__  # type: ignore[attr-defined]
_TT = TicketType.__table__  # type: ignore[attr-defined]
_EV = Event.__table__  # type: ignore[attr-defined]

ADMITTED_STATES = (TicketStatus.SCANNED.value, TicketStatus.USED.value)
REVOKED_STATES = (TicketStatus.VOIDED.value, TicketStatus.REFUNDED.value)


@dataclass(frozen=True)
class GateState:
    """A ticket as the gate sees it. ``fingerprint`` changes with every admission, exit, void or refund."""

    id: uuid.UUID
    event_id: uuid.UUID
    organization_id: str
    status: str
    inside: bool
    scan_count: int
    scanned_at: datetime | None
    first_gate_id: str | None
    last_gate_id: str | None
    last_scanned_at: datetime | None
    signing_kid: str | None
    valid_until: datetime | None
    policy: str

    @property
    def fingerprint(self) -> tuple[str, int, bool]:
        return (self.status, self.scan_count, self.inside)


@dataclass(frozen=True)
class ScanRecord:
    """One attempt, as the ``scans`` table keeps it."""

    organization_id: str
    event_id: uuid.UUID
    gate_id: str
    direction: str
    via: str
    scanner_id: str
    scanned_at: datetime
    result: str = ""
    reason: str | None = None
    ticket_id: uuid.UUID | None = None
    replayed: bool = False
    id: uuid.UUID | None = None  # set by the gate device for an offline scan it uploads (its idempotency key)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id or uuid.uuid4(),
            "organization_id": self.organization_id,
            "event_id": self.event_id,
            "ticket_id": self.ticket_id,
            "gate_id": self.gate_id,
            "direction": self.direction,
            "result": self.result,
            "reason": self.reason,
            "via": self.via,
            "replayed": self.replayed,
            "scanner_id": self.scanner_id,
            "scanned_at": self.scanned_at,
        }


# --- reading -------------------------------------------------------------------------------------------------

_STATE = (
    select(
        _T.c.id,
        _T.c.event_id,
        _T.c.organization_id,
        _T.c.status,
        _T.c.inside,
        _T.c.scan_count,
        _T.c.scanned_at,
        _T.c.first_gate_id,
        _T.c.last_gate_id,
        _T.c.last_scanned_at,
        _T.c.signing_kid,
        _T.c.valid_until,
        _EV.c.checkin_policy,
        _TT.c.checkin_policy,
    )
    .join(_TT, _TT.c.id == _T.c.ticket_type_id)
    .join(_EV, _EV.c.id == _T.c.event_id)
)


_STATE_FIELDS = [f for f in GateState.__dataclass_fields__ if f != "policy"]


def _state(row: Any) -> GateState:
    *fields, event_policy, type_policy = row
    named: dict[str, Any] = dict(zip(_STATE_FIELDS, fields, strict=True))
    return GateState(**named, policy=effective_policy(event_policy, type_policy).value)


async def state_by_id(session: AsyncSession, ticket_id: uuid.UUID) -> GateState | None:
    row = (await session.execute(_STATE.where(_T.c.id == ticket_id))).first()
    return _state(row) if row else None


async def state_by_code(session: AsyncSession, organization_id: str, code: str) -> GateState | None:
    """The organisation's ticket with the grouped ``code`` (another organisation's is not found)."""
    stmt = _STATE.where(_T.c.ticket_code == code, _T.c.organization_id == organization_id)
    row = (await session.execute(stmt)).first()
    return _state(row) if row else None


async def last_exit(session: AsyncSession, ticket_id: uuid.UUID) -> tuple[str, datetime] | None:
    """The gate and time of the ticket's latest exit scan that let it out (not a replay), if any."""
    row = (
        await session.execute(
            select(_S.c.gate_id, _S.c.scanned_at)
            .where(_S.c.ticket_id == ticket_id, _S.c.result == "exited", _S.c.replayed.is_(False))
            .order_by(_S.c.scanned_at.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


# --- changing ------------------------------------------------------------------------------------------------

_NOW = bindparam("g_now", type_=UTCDateTime())
_GATE = bindparam("g_gate", type_=String())
_TICKET = bindparam("g_ticket", type_=Uuid())
_RETURNED = (_T.c.scan_count, _T.c.scanned_at, _T.c.first_gate_id, _T.c.last_gate_id, _T.c.last_scanned_at)

# First admission: active → scanned. The one state it starts from, as a plain comparison (an IN list is expanded
# at every execution); the assertion keeps the statement in step with the state machine.
[_ACTIVE] = sources_of(TicketStatus, TicketStatus.SCANNED)
_ADMIT = (
    update(_T)
    .where(
        _T.c.id == _TICKET,
        _T.c.event_id == bindparam("g_event", type_=Uuid()),
        _T.c.status == _ACTIVE,
    )
    .values(
        status=TicketStatus.SCANNED.value,
        scan_count=_T.c.scan_count + 1,
        scanned_at=func.coalesce(_T.c.scanned_at, _NOW),
        first_gate_id=func.coalesce(_T.c.first_gate_id, _GATE),
        last_gate_id=_GATE,
        last_scanned_at=_NOW,
        inside=True,
    )
    .returning(*_RETURNED)
)
# Re-entry: an admitted ticket scanned out, admitted again, unless another gate got there first (scan_count moved).
_READMIT = (
    update(_T)
    .where(
        _T.c.id == _TICKET,
        _T.c.status.in_(ADMITTED_STATES),
        _T.c.inside.is_(False),
        _T.c.scan_count == bindparam("g_seen"),
    )
    .values(scan_count=_T.c.scan_count + 1, last_gate_id=_GATE, last_scanned_at=_NOW, inside=True)
    .returning(*_RETURNED)
)
_EXIT = (
    update(_T)
    .where(_T.c.id == _TICKET, _T.c.status.in_(ADMITTED_STATES), _T.c.inside == true())
    .values(inside=False)
    .returning(*_RETURNED)
)
_SCAN_COLUMNS = [c.name for c in _S.columns]
# The attempt's values as bind parameters ``s_<column>``: the statements below are built once, at import, as the
# holds' are (building a statement costs more than running it on this path).
_SCAN_PARAMS = {c.name: bindparam(f"s_{c.name}", type_=c.type) for c in _S.columns}


def _recorded(source: Any) -> Any:
    """``INSERT INTO scans … SELECT`` the attempt (``s_*`` parameters) once per row of ``source`` (none: nothing
    recorded), its ticket id taken from ``source``."""
    columns = [
        source.c.id.label(name) if name == "ticket_id" else _SCAN_PARAMS[name].label(name) for name in _SCAN_COLUMNS
    ]
    return insert(_S).from_select(_SCAN_COLUMNS, select(*columns).select_from(source))


_RECORD = insert(_S).values({name: _SCAN_PARAMS[name] for name in _SCAN_COLUMNS})
# PostgreSQL: the first admission and its record in one statement (one round trip before the commit).
_ADMITTED = _ADMIT.returning(_T.c.id).cte("admitted")
_ADMIT_AND_RECORD = select(*(_ADMITTED.c[c.name] for c in _RETURNED)).add_cte(_recorded(_ADMITTED).cte("recorded"))
# A replayed answer is recorded only while the ticket is as the answer left it.
_UNCHANGED = (
    select(_T.c.id)
    .where(
        _T.c.id == _SCAN_PARAMS["ticket_id"],
        _T.c.status == bindparam("f_status", type_=String()),
        _T.c.scan_count == bindparam("f_scan_count"),
        _T.c.inside == bindparam("f_inside", type_=Boolean()),
    )
    .subquery("unchanged")
)
_RECORD_IF_UNCHANGED = _recorded(_UNCHANGED).returning(_S.c.id)


def _params(rec: ScanRecord) -> dict[str, Any]:
    return {f"s_{name}": value for name, value in rec.row().items()}


@dataclass(frozen=True)
class Admission:
    """What a successful change left: the ticket's counts, first and last admission."""

    scan_count: int
    scanned_at: datetime | None
    first_gate_id: str | None
    last_gate_id: str | None
    last_scanned_at: datetime | None


async def admit_first(
    session: AsyncSession, ticket_id: uuid.UUID, event_id: uuid.UUID, gate_id: str, rec: ScanRecord
) -> Admission | None:
    """Admit an ``active`` ticket of ``event_id`` and record ``rec`` (result ``admitted``); None, with nothing
    changed or recorded, when the ticket is not active (or not of that event). One statement on PostgreSQL."""
    params = {"g_ticket": ticket_id, "g_event": event_id, "g_gate": gate_id, "g_now": rec.scanned_at}
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        row = (await session.execute(_ADMIT_AND_RECORD, {**params, **_params(rec)})).first()
        return Admission(*row) if row else None
    row = (await session.execute(_ADMIT, params)).first()
    if row is None:
        return None
    await record(session, rec)
    return Admission(*row)


async def readmit(session: AsyncSession, state: GateState, gate_id: str, now: datetime) -> Admission | None:
    """Admit ``state``'s ticket again (re-entry after an exit); None if it changed since ``state`` was read."""
    params = {"g_ticket": state.id, "g_gate": gate_id, "g_now": now, "g_seen": state.scan_count}
    row = (await session.execute(_READMIT, params)).first()
    return Admission(*row) if row else None


async def let_out(session: AsyncSession, ticket_id: uuid.UUID) -> Admission | None:
    """Record that an admitted ticket inside left; None when it is not inside (any more)."""
    row = (await session.execute(_EXIT, {"g_ticket": ticket_id})).first()
    return Admission(*row) if row else None


async def record(session: AsyncSession, rec: ScanRecord) -> None:
    """Keep one scan attempt."""
    await session.execute(_RECORD, _params(rec))


async def record_if_unchanged(session: AsyncSession, rec: ScanRecord, fingerprint: tuple[str, int, bool]) -> bool:
    """Record ``rec`` only if its ticket still has ``fingerprint`` (status, scan count, inside); whether it did.
    One statement: a replayed answer is served only while the database would still give it."""
    status, scan_count, inside = fingerprint
    params = {**_params(rec), "f_status": status, "f_scan_count": scan_count, "f_inside": inside}
    return (await session.execute(_RECORD_IF_UNCHANGED, params)).first() is not None
