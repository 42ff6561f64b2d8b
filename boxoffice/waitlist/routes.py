"""Waiting lists: a buyer joins a sold-out ticket type's list, sees their place and offer, and leaves; the organiser
sees the line. Each change is committed first, then the list's run is told (signal-with-start); should that fail,
the change stands and the ``waitlist-sweeper`` Schedule starts the run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from boxoffice.api.deps import AdminUser, BuyerUser, CurrentUser, SessionDep, SettingsDep
from boxoffice.api.problems import responses
from boxoffice.auth import Role
from boxoffice.config import Settings
from boxoffice.logging import get_logger
from boxoffice.models.types import utcnow
from boxoffice.waitlist import hints, line
from boxoffice.waitlist.client import WaitlistRuns, progress, tell
from boxoffice.waitlist.contract import SIGNAL_JOINED, ListChange
from boxoffice.waitlist.schemas import EntryOut, JoinedOut, JoinIn, LineEntryOut, LineOut

log = get_logger(__name__)


@asynccontextmanager
async def _tell_of_seats_back(app: FastAPI) -> AsyncIterator[None]:
    """While the app runs, waiting lists are told of seats its requests give back, after each commit (``hints``).
    Nested in the app's lifespan, so its database and Temporal handle exist."""
    runs = WaitlistRuns.from_settings(app.state.settings)
    notifier = hints.attach(app.state.db, hints.Notifier(app.state.temporal.get, runs))
    try:
        yield
    finally:
        hints.detach(app.state.db, notifier)
        await notifier.aclose()


router = APIRouter(tags=["waiting lists"], lifespan=_tell_of_seats_back)


async def _tell(
    request: Request, settings: Settings, ticket_type_id: uuid.UUID, signal: str, entry_id: uuid.UUID
) -> str | None:
    """Signal the list's run after the commit; None when Temporal could not be reached (the sweep starts it)."""
    try:
        client = await request.app.state.temporal.get()
        runs = WaitlistRuns.from_settings(settings)
        return await tell(client, runs, str(ticket_type_id), signal, ListChange(entry_id=str(entry_id)))
    except Exception as exc:
        log.warning("waiting list not told", ticket_type_id=str(ticket_type_id), signal=signal, error=str(exc))
        return None


@router.post(
    "/v1/ticket-types/{ticket_type_id}/waitlist",
    status_code=201,
    response_model=JoinedOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def join(
    ticket_type_id: uuid.UUID,
    body: JoinIn,
    who: BuyerUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> JoinedOut:
    """Join the ticket type's waiting list for ``quantity`` seats, when fewer are on sale (409 ``seats_available``
    otherwise; 409 ``already_waiting`` when in it already). Seats that come back are offered in line order, each
    offer a hold kept for its buyer for ``BOXOFFICE_WAITLIST_OFFER_SECONDS``."""
    view = await line.join(session, who, ticket_type_id, body.quantity, now=utcnow())
    await session.commit()
    workflow_id = await _tell(request, settings, ticket_type_id, SIGNAL_JOINED, view.entry.id)
    return JoinedOut(**EntryOut.of(view).model_dump(), workflow_id=workflow_id)


@router.get("/v1/waitlist", response_model=list[EntryOut], responses=responses(401, 422))
async def my_entries(
    who: CurrentUser, session: SessionDep, include_ended: Annotated[bool, Query()] = False
) -> list[EntryOut]:
    """The caller's waiting list entries, newest first: those still waiting or holding an offer, or all. Only
    buyers wait in lines: anyone else has none."""
    if who.role is not Role.BUYER:
        return []
    return [EntryOut.of(v) for v in await line.buyer_entries(session, who, live_only=not include_ended)]


@router.get("/v1/waitlist/{entry_id}", response_model=EntryOut, responses=responses(401, 403, 404, 422))
async def my_entry(entry_id: uuid.UUID, who: BuyerUser, session: SessionDep) -> EntryOut:
    """The buyer's entry: its place in the line, or its offer (the hold to check out with, and until when)."""
    return EntryOut.of(await line.entry_view(session, who, entry_id))


@router.delete("/v1/waitlist/{entry_id}", response_model=EntryOut, responses=responses(401, 403, 404, 409, 422))
async def leave(
    entry_id: uuid.UUID, who: BuyerUser, session: SessionDep, settings: SettingsDep, request: Request
) -> EntryOut:
    """Leave the line; holding an offer, decline it (its seats go to the next in line). An offer a checkout has
    claimed is 409 ``offer_in_checkout``. Repeating it answers the entry as it is."""
    left = await line.leave(session, who, entry_id, now=utcnow())
    await session.commit()
    if left.signal is not None:
        await _tell(request, settings, left.entry.ticket_type_id, left.signal, left.entry.id)
    return EntryOut.of(line.EntryView(left.entry, None))


@router.get(
    "/v1/ticket-types/{ticket_type_id}/waitlist", response_model=LineOut, responses=responses(401, 403, 404, 422)
)
async def ticket_type_line(
    ticket_type_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    request: Request,
    include_ended: Annotated[bool, Query()] = False,
) -> LineOut:
    """The organiser's view of the line, in order, with what is kept for it and its run's progress."""
    tt, views = await line.line_of(session, who.org_id, ticket_type_id, live_only=not include_ended)
    try:
        run = await progress(await request.app.state.temporal.get(), str(ticket_type_id))
    except Exception as exc:  # the line is still shown
        log.warning("waiting list run not queried", ticket_type_id=str(ticket_type_id), error=str(exc))
        run = None
    return LineOut(
        ticket_type_id=tt.id,
        waiting_seats=tt.waitlist_waiting,
        kept_seats=tt.waitlist_reserved,
        entries=[LineEntryOut.of(v) for v in views],
        run=run,
    )
