"""Scans an offline gate let through, uploaded once it is back online (``POST /v1/scans/batch``).

A gate device that cannot reach the API decides from its signed gate bundle (see :mod:`boxoffice.ticketing.bundle`)
and lets people in, or out. It keeps each scan it let through with an id of its own (a UUID made once per scan) and
the moment it happened, and uploads them when it can. Guarantees:

- each scan is judged and applied as of its own moment, in the order the scans happened, as ``POST /v1/scans``
  would have answered then (signature, event, revocation, validity, the ticket's state and check-in policy), and
  recorded in ``scans`` under the device's id (``reason`` ``offline`` when the answer has no reason of its own);
- idempotent: an id already recorded is answered from its record (``duplicate``) and nothing is applied again; an
  upload racing a repeat of itself is stopped by the record's primary key, and answered the same way;
- the server's verdict may differ from what the door did: ``already_admitted`` (another gate admitted the ticket
  first: a double entry to look into), ``revoked`` (voided or refunded after the device's bundle was made), ….
  The door's history keeps the server's verdict at the scan's moment; the device shows the differences;
- refused whole, before anything changes: an event that is not the caller's (404 ``event_not_found``), an id given
  twice (422 ``duplicate_scan_id``), a moment in the future (beyond :data:`CLOCK_SKEW`) or older than
  :data:`MAX_AGE` (422 ``scan_time_out_of_range``), an id recorded for another event, gate or organisation (409
  ``scan_id_conflict``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from boxoffice.db import Database
from boxoffice.errors import Conflict, NotFound, ValidationFailed
from boxoffice.gate.scanning import GateScanner, ScanOutcome, ScanRequest
from boxoffice.models import Event, Scan
from boxoffice.models.gate import Direction

MAX_AGE = timedelta(days=30)  # tickets stay valid 7 days after their event: older scans are a wrong clock
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run ahead of the server's by this much


@dataclass(frozen=True)
class OfflineScan:
    """One scan a device let through while offline: exactly one of ``payload`` and ``ticket_code``."""

    id: uuid.UUID
    direction: Direction
    scanned_at: datetime
    payload: str | None = None
    ticket_code: str | None = None


@dataclass(frozen=True)
class Uploaded:
    """The server's verdict on one uploaded scan. ``duplicate``: answered from the record of an earlier upload
    (``outcome`` is then None, and ``result``, ``reason``, ``ticket_id`` are the record's)."""

    id: uuid.UUID
    result: str
    reason: str | None
    ticket_id: uuid.UUID | None
    scanned_at: datetime
    duplicate: bool
    outcome: ScanOutcome | None = None


def _in_range(moment: datetime, now: datetime) -> bool:
    try:
        return now - MAX_AGE <= moment.astimezone(UTC) <= now + CLOCK_SKEW
    except OverflowError:  # a moment near year 1 or 9999 in a far time zone
        return False


def _check_batch(scans: Sequence[OfflineScan], now: datetime) -> None:
    ids = [s.id for s in scans]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("each scan of a batch needs an id of its own", code="duplicate_scan_id")
    late = [str(s.id) for s in scans if not _in_range(s.scanned_at, now)]
    if late:
        raise ValidationFailed(
            f"scanned_at must lie between {MAX_AGE.days} days ago and {int(CLOCK_SKEW.total_seconds())} s from now "
            f"(server time {now.isoformat()}); check the device's clock",
            code="scan_time_out_of_range",
            scan_ids=late[:20],
        )


def _from_record(row: Scan) -> Uploaded:
    return Uploaded(row.id, row.result, row.reason, row.ticket_id, row.scanned_at, duplicate=True)


async def _records(db: Database, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Scan]:
    async with db.session() as session:
        rows = (await session.execute(select(Scan).where(col(Scan.id).in_(ids)))).scalars()
        return {row.id: row for row in rows}


def _check_owner(row: Scan, org_id: str, event_id: uuid.UUID, gate_id: str) -> None:
    if (row.organization_id, row.event_id, row.gate_id) != (org_id, event_id, gate_id):
        raise Conflict(f"scan id {row.id} is already recorded for another gate or event", code="scan_id_conflict")


async def upload(
    db: Database,
    scanner: GateScanner,
    *,
    organization_id: str,
    scanner_id: str,
    event_id: uuid.UUID,
    gate_id: str,
    scans: Sequence[OfflineScan],
    now: datetime,
) -> list[Uploaded]:
    """Apply and record ``scans`` (see the module's guarantees); the verdicts in the order ``scans`` were given."""
    _check_batch(scans, now)
    async with db.session() as session:
        event = await session.get(Event, event_id)
        if event is None or event.organization_id != organization_id:
            raise NotFound("event not found", code="event_not_found")
    known = await _records(db, [s.id for s in scans])
    for row in known.values():
        _check_owner(row, organization_id, event_id, gate_id)

    verdicts: dict[uuid.UUID, Uploaded] = {}
    for item in sorted(scans, key=lambda s: (s.scanned_at.astimezone(UTC), str(s.id))):  # as they happened
        if item.id in known:
            verdicts[item.id] = _from_record(known[item.id])
            continue
        request = ScanRequest(
            organization_id=organization_id,
            scanner_id=scanner_id,
            event_id=event_id,
            gate_id=gate_id,
            direction=item.direction,
            payload=item.payload,
            ticket_code=item.ticket_code,
        )
        try:
            o = await scanner.scan(request, at=item.scanned_at.astimezone(UTC), scan_id=item.id)
        except IntegrityError:
            # A repeat of this upload recorded the id first (its transaction rolled this one back whole).
            first = (await _records(db, [item.id])).get(item.id)
            if first is None:
                raise
            _check_owner(first, organization_id, event_id, gate_id)
            verdicts[item.id] = _from_record(first)
            continue
        verdicts[item.id] = Uploaded(
            item.id, o.result.value, o.reason, o.ticket_id, o.scanned_at, duplicate=False, outcome=o
        )
    return [verdicts[s.id] for s in scans]
