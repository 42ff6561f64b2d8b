"""The gate's HTTP edge: scans, the door's history, voids, the published keys and the offline gate bundle.

The scan service is one per API process (``app.state.gate_scanner``, made on first use): its replay cache is the
process's own. Its clock is ``app.state.gate_clock`` when set (tests scan at any moment of a ticket's validity
that way), else the system clock; voids, bundles and ``keys.json`` use the same clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.api.deps import AdminUser, DbDep, ScannerOrAdmin, SessionDep, SettingsDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.errors import NotFound
from boxoffice.fulfilment.contract import message_workflow_id
from boxoffice.gate import history, page, publication, uploads, voids
from boxoffice.gate.client import notify_void
from boxoffice.gate.scanning import GateScanner, ScanRequest
from boxoffice.gate.schemas import (
    GateBundleOut,
    KeySet,
    ResultName,
    ScanBatchIn,
    ScanBatchOut,
    ScanIn,
    ScanOut,
    ScanRecordOut,
    UploadedScanOut,
    VoidIn,
    VoidOut,
)
from boxoffice.logging import get_logger
from boxoffice.models import Event
from boxoffice.models.gate import Direction
from boxoffice.models.types import utcnow

log = get_logger(__name__)
router = APIRouter(tags=["gate"])
router.include_router(page.router)  # GET /gate: the door staff's scanner page and its files


def clock_of(request: Request) -> Callable[[], datetime]:
    """The gate's clock: ``app.state.gate_clock`` when set (read at every call), else the system clock."""
    state = request.app.state
    return lambda: getattr(state, "gate_clock", utcnow)()


async def get_scanner(request: Request) -> GateScanner:
    state = request.app.state
    scanner: GateScanner | None = getattr(state, "gate_scanner", None)
    if scanner is None:
        settings = state.settings
        scanner = GateScanner(
            state.db,
            state.keyring,
            window_seconds=settings.gate_replay_window_seconds,
            cache_size=settings.gate_replay_cache_size,
            clock=clock_of(request),
        )
        state.gate_scanner = scanner
    return scanner


ScannerDep = Annotated[GateScanner, Depends(get_scanner)]


async def _event(session: AsyncSession, org_id: str, event_id: uuid.UUID) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.organization_id != org_id:
        raise NotFound("event not found", code="event_not_found")
    return event


@router.post("/v1/scans", response_model=ScanOut, responses=responses(401, 403, 404, 422))
async def scan(body: ScanIn, who: ScannerOrAdmin, scanner: ScannerDep) -> ScanOut:
    """Answer a gate's read of a ticket, admit it (atomically, once) and record the attempt. Always 200 with a
    ``result`` for a ticket refused; 404 only when the event is not the scanner's organisation's."""
    request = ScanRequest(
        organization_id=who.org_id,
        scanner_id=who.user_id,
        event_id=body.event_id,
        gate_id=body.gate_id,
        direction=Direction(body.direction),
        payload=body.payload if isinstance(body.payload, str) else None,
        ticket_code=body.ticket_code if isinstance(body.ticket_code, str) else None,
    )
    o = await scanner.scan(request)
    return ScanOut(
        result=o.result.value,
        reason=o.reason,
        ticket_id=o.ticket_id,
        scan_count=o.scan_count,
        first_scanned_at=o.first_scanned_at,
        first_gate_id=o.first_gate_id,
        last_gate_id=o.last_gate_id,
        last_scanned_at=o.last_scanned_at,
        inside=o.inside,
        replayed=o.replayed,
        direction=o.direction.value,
        event_id=body.event_id,
        gate_id=body.gate_id,
        scanned_at=o.scanned_at,
    )


@router.post("/v1/scans/batch", response_model=ScanBatchOut, responses=responses(401, 403, 404, 409, 422))
async def upload_scans(
    body: ScanBatchIn, who: ScannerOrAdmin, scanner: ScannerDep, db: DbDep, request: Request
) -> ScanBatchOut:
    """Upload the scans an offline gate let through: each judged, applied and recorded as of its own moment, in
    the order they happened; idempotent by each scan's ``id`` (see ``boxoffice.gate.uploads``)."""
    items = [
        uploads.OfflineScan(
            id=s.id,
            direction=Direction(s.direction),
            scanned_at=s.scanned_at,
            payload=s.payload if isinstance(s.payload, str) else None,
            ticket_code=s.ticket_code if isinstance(s.ticket_code, str) else None,
        )
        for s in body.scans
    ]
    done = await uploads.upload(
        db,
        scanner,
        organization_id=who.org_id,
        scanner_id=who.user_id,
        event_id=body.event_id,
        gate_id=body.gate_id,
        scans=items,
        now=clock_of(request)(),
    )
    return ScanBatchOut(
        event_id=body.event_id,
        gate_id=body.gate_id,
        results=[
            UploadedScanOut(
                id=u.id,
                result=u.result,  # type: ignore[arg-type]  # a ScanResult value, as recorded
                reason=u.reason,
                ticket_id=u.ticket_id,
                scanned_at=u.scanned_at,
                duplicate=u.duplicate,
                scan_count=u.outcome.scan_count if u.outcome else None,
                first_scanned_at=u.outcome.first_scanned_at if u.outcome else None,
                first_gate_id=u.outcome.first_gate_id if u.outcome else None,
            )
            for u in done
        ],
    )


@router.get("/v1/events/{event_id}/scans", response_model=list[ScanRecordOut], responses=responses(401, 403, 404, 422))
async def event_scans(
    event_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    gate_id: Annotated[Text | None, Query(max_length=64)] = None,
    result: ResultName | None = None,
    ticket_id: uuid.UUID | None = None,
) -> list[ScanRecordOut]:
    """The event's scan attempts, newest first (the door's history), optionally of one gate, result or ticket."""
    await _event(session, who.org_id, event_id)
    rows = await history.list_scans(
        session, event_id, limit=limit, offset=offset, gate_id=gate_id, result=result, ticket_id=ticket_id
    )
    return [ScanRecordOut.model_validate(r) for r in rows]


@router.post("/v1/tickets/{ticket_id}/void", response_model=VoidOut, responses=responses(401, 403, 404, 409, 422))
async def void_ticket(
    ticket_id: uuid.UUID,
    body: VoidIn,
    who: AdminUser,
    session: SessionDep,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
) -> VoidOut:
    """Void a ticket: refused at every gate from now on, listed in the gate bundle, its seat back on sale, and its
    buyer sent a message (with the order's tickets re-rendered). Repeating it answers the first void."""
    now = clock_of(request)()
    done = await voids.void_ticket(session, who, ticket_id, body.reason, now)
    await session.commit()
    workflow_id: str | None = message_workflow_id("void", str(ticket_id))
    if done.void.notified_at is None:
        try:
            client = await request.app.state.temporal.get()
            workflow_id = await notify_void(client, db, done.void, task_queue=settings.documents_task_queue, now=now)
        except Exception as exc:  # the void stands; the check-in sweep starts the message run later
            log.warning("void message not started", ticket_id=str(ticket_id), error=str(exc))
            workflow_id = None
    return VoidOut(
        ticket_id=ticket_id,
        status="voided",
        reason=done.void.reason,
        voided_at=done.void.voided_at,
        voided_by=done.void.voided_by,
        buyer_notified=workflow_id is not None,
        message_workflow_id=workflow_id,
    )


@router.get("/v1/events/{event_id}/gate-bundle", response_model=GateBundleOut, responses=responses(401, 403, 404, 422))
async def gate_bundle(
    event_id: uuid.UUID, who: ScannerOrAdmin, session: SessionDep, db: DbDep, request: Request
) -> JSONResponse:
    """Everything an offline gate needs for this event, signed (see ``GateBundleOut``). Served as built, byte for
    byte, so the signature holds over what the gate receives."""
    await db.snapshot(session)  # the ticket types and tickets as of one moment
    event = await _event(session, who.org_id, event_id)
    ring = request.app.state.keyring
    ring.refresh()
    return JSONResponse(await publication.gate_bundle(session, ring, event, clock_of(request)()))


@router.get("/.well-known/boxoffice/keys.json", response_model=KeySet)
async def keys(request: Request, session: SessionDep) -> dict[str, Any]:
    """The public keys of every key that signed a ticket still valid, and of the key signing new tickets."""
    ring = request.app.state.keyring
    ring.refresh()
    return ring.public_jwks(await publication.published_kids(session, ring, clock_of(request)()))
