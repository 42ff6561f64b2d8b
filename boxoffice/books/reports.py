"""The organiser's books: transactions, the ledger, and a reconciliation that says whether everything agrees."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.books import ledger
from boxoffice.models import Hold, LedgerEntry, Order, Refund, Ticket, TicketType, Transaction

LIVE = ("active", "scanned", "used")


def transaction_view(t: Transaction) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "order_id": str(t.order_id),
        "provider": t.provider,
        "status": t.status,
        "amount": t.amount,
        "currency": t.currency,
        "reference": t.reference,
        "provider_reference": t.provider_reference,
        "provider_transaction_id": t.provider_transaction_id,
        "captured_amount": t.captured_amount,
        "refunded_amount": t.refunded_amount,
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
    }


async def list_transactions(
    session: AsyncSession, org: str, *, limit: int, offset: int, status: str | None = None, provider: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(Transaction).where(col(Transaction.organization_id) == org)
    if status:
        stmt = stmt.where(col(Transaction.status) == status)
    if provider:
        stmt = stmt.where(col(Transaction.provider) == provider)
    rows = await session.execute(stmt.order_by(col(Transaction.created_at).desc()).limit(limit).offset(offset))
    return [transaction_view(t) for t in rows.scalars()]


async def ledger_report(
    session: AsyncSession, org: str, *, event_id: uuid.UUID | None, limit: int, offset: int
) -> dict[str, Any]:
    stmt = select(LedgerEntry).where(col(LedgerEntry.organization_id) == org)
    if event_id is not None:
        stmt = stmt.where(col(LedgerEntry.event_id) == event_id)
    rows = await session.execute(
        stmt.order_by(col(LedgerEntry.created_at), col(LedgerEntry.journal_key)).limit(limit).offset(offset)
    )
    entries = [
        {
            "journal": e.journal_key,
            "kind": e.kind,
            "account": e.account,
            "amount": e.amount,
            "currency": e.currency,
            "order_id": str(e.order_id) if e.order_id else None,
            "memo": e.memo,
            "created_at": e.created_at.isoformat(),
        }
        for e in rows.scalars()
    ]
    return {"balances": ledger.by_account(await ledger.balances(session, org, event_id=event_id)), "entries": entries}


async def reconciliation(session: AsyncSession, org: str, *, event_id: uuid.UUID | None) -> dict[str, Any]:
    """Every invariant of the books, checked from the database as it is. ``balanced`` is true only if all hold."""
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail})

    def scoped(stmt: Any, event_col: Any) -> Any:
        return stmt.where(event_col == event_id) if event_id is not None else stmt

    types = (
        (
            await session.execute(
                scoped(select(TicketType).where(col(TicketType.organization_id) == org), col(TicketType.event_id))
            )
        )
        .scalars()
        .all()
    )
    active = dict(
        (
            await session.execute(
                scoped(
                    select(col(Hold.ticket_type_id), func.sum(col(Hold.quantity))).where(
                        col(Hold.organization_id) == org, col(Hold.status) == "active"
                    ),
                    col(Hold.event_id),
                ).group_by(col(Hold.ticket_type_id))
            )
        ).all()
    )
    live = dict(
        (
            await session.execute(
                scoped(
                    select(col(Ticket.ticket_type_id), func.count()).where(
                        col(Ticket.organization_id) == org, col(Ticket.status).in_(LIVE)
                    ),
                    col(Ticket.event_id),
                ).group_by(col(Ticket.ticket_type_id))
            )
        ).all()
    )
    for tt in types:
        ok = (
            tt.held == int(active.get(tt.id, 0))
            and tt.sold == int(live.get(tt.id, 0))
            and tt.held + tt.sold <= tt.capacity
        )
        check(
            f"inventory:{tt.name}",
            ok,
            f"capacity {tt.capacity}, held {tt.held} (active holds "
            f"{int(active.get(tt.id, 0))}), sold {tt.sold} (live tickets {int(live.get(tt.id, 0))})",
        )

    unbalanced = await ledger.unbalanced_journals(session, org)
    check(
        "journals_balance",
        not unbalanced,
        f"{len(unbalanced)} unbalanced journal(s)" if unbalanced else "every journal sums to zero",
    )

    txns = (
        (
            await session.execute(
                scoped(
                    select(Transaction)
                    .join(Order, col(Order.id) == col(Transaction.order_id))
                    .where(col(Transaction.organization_id) == org),
                    col(Order.event_id),
                )
            )
        )
        .scalars()
        .all()
    )
    refunds = (await session.execute(select(Refund).where(col(Refund.organization_id) == org))).scalars().all()
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for t in txns:
        expected[(t.provider, t.currency)] += (t.captured_amount or 0) - t.refunded_amount
        settled = sum(r.amount for r in refunds if r.transaction_id == t.id and r.status == "succeeded")
        if settled != t.refunded_amount:
            check(f"refunds:{t.reference}", False, f"refunded_amount {t.refunded_amount} != settled refunds {settled}")
    bal = await ledger.balances(session, org, event_id=event_id)
    for (provider, currency), amount in sorted(expected.items()):
        booked = bal.get((ledger.clearing(provider), currency), 0)
        check(f"clearing:{provider}:{currency}", booked == amount, f"ledger {booked}, captured − refunded {amount}")
    unallocated = {c: a for (acct, c), a in bal.items() if acct == ledger.UNALLOCATED and a}
    pending_auto = [r for r in refunds if r.kind == "automatic" and r.status != "succeeded"]
    check(
        "unallocated_receipts",
        not unallocated or bool(pending_auto),
        f"{unallocated or 0} waiting for {len(pending_auto)} automatic refund(s)",
    )
    return {"event_id": str(event_id) if event_id else None, "balanced": all(c["ok"] for c in checks), "checks": checks}
