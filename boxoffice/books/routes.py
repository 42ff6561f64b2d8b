"""The organiser's books: payments, the double-entry ledger, and reconciliation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from boxoffice.api.deps import AdminUser, SessionDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.books import reports
from boxoffice.catalogue.rules import get_event

router = APIRouter(prefix="/v1", tags=["books"])


class TransactionOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    provider: str
    status: str
    amount: int
    currency: str
    reference: str
    provider_reference: str | None
    provider_transaction_id: str | None
    captured_amount: int | None
    refunded_amount: int
    created_at: datetime
    updated_at: datetime


class LedgerLine(BaseModel):
    journal: str
    kind: str
    account: str
    amount: int
    currency: str
    order_id: uuid.UUID | None
    memo: str | None
    created_at: datetime


class LedgerOut(BaseModel):
    balances: dict[str, dict[str, int]]
    entries: list[LedgerLine]


class Check(BaseModel):
    check: str
    ok: bool
    detail: str


class ReconciliationOut(BaseModel):
    event_id: uuid.UUID | None
    balanced: bool
    checks: list[Check]


@router.get("/transactions", response_model=list[TransactionOut], responses=responses(401, 403, 422))
async def transactions(
    who: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    status: Annotated[Text | None, Query(max_length=32)] = None,
    provider: Annotated[Text | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    return await reports.list_transactions(
        session, who.org_id, limit=limit, offset=offset, status=status, provider=provider
    )


@router.get("/ledger", response_model=LedgerOut, responses=responses(401, 403, 404, 422))
async def ledger(
    who: AdminUser,
    session: SessionDep,
    event_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Offset = 0,
) -> dict[str, Any]:
    if event_id is not None:
        await get_event(session, who.org_id, event_id)
    return await reports.ledger_report(session, who.org_id, event_id=event_id, limit=limit, offset=offset)


@router.get("/reports/reconciliation", response_model=ReconciliationOut, responses=responses(401, 403, 404, 422))
async def reconciliation(who: AdminUser, session: SessionDep, event_id: uuid.UUID | None = None) -> dict[str, Any]:
    if event_id is not None:
        await get_event(session, who.org_id, event_id)
    return await reports.reconciliation(session, who.org_id, event_id=event_id)
