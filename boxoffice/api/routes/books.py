"""The organiser's books: payments, the double-entry ledger, and reconciliation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from boxoffice.api.deps import AdminUser, SessionDep
from boxoffice.services import catalogue, reports

router = APIRouter(prefix="/v1", tags=["books"])


@router.get("/transactions")
async def transactions(
    who: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: str | None = None,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    return await reports.list_transactions(
        session, who.org_id, limit=limit, offset=offset, status=status, provider=provider
    )


@router.get("/ledger")
async def ledger(
    who: AdminUser,
    session: SessionDep,
    event_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if event_id is not None:
        await catalogue.get_event(session, who.org_id, event_id)
    return await reports.ledger_report(session, who.org_id, event_id=event_id, limit=limit, offset=offset)


@router.get("/reports/reconciliation")
async def reconciliation(who: AdminUser, session: SessionDep, event_id: uuid.UUID | None = None) -> dict[str, Any]:
    if event_id is not None:
        await catalogue.get_event(session, who.org_id, event_id)
    return await reports.reconciliation(session, who.org_id, event_id=event_id)
