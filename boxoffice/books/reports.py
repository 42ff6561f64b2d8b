"""The organiser's books: transactions, the ledger, and a reconciliation that says whether everything agrees."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.books import invariants, ledger
from boxoffice.models import LedgerEntry, Transaction


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


# Violations the reconciliation shows as the named checks above; every other one is a failing check of its own.
SHOWN_ABOVE = frozenset(
    {"oversold", "held_mismatch", "sold_mismatch", "journal_unbalanced", "clearing_mismatch", "unallocated_kept"}
)


async def reconciliation(session: AsyncSession, org: str, *, event_id: uuid.UUID | None) -> dict[str, Any]:
    """Every invariant of the books (``books.invariants``), checked from the database as it is, as named checks:
    each ticket type's inventory, the journals, each provider's clearing account, unallocated receipts, and one
    failing check per other violation. ``balanced`` is true only if the checker finds nothing."""
    found = await invariants.check_books(session, organization_id=org, event_id=event_id)
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail})

    def broken(*rules: str, **ids: str) -> list[invariants.Violation]:
        return [v for v in found.violations if v.rule in rules and all(v.ids.get(k) == i for k, i in ids.items())]

    for inv in found.inventory:
        bad = broken("oversold", "held_mismatch", "sold_mismatch", ticket_type=str(inv.ticket_type_id))
        check(
            f"inventory:{inv.name}",
            not bad,
            f"capacity {inv.capacity}, held {inv.held} (active holds {inv.active_holds}), "
            f"sold {inv.sold} (live tickets {inv.live_tickets})",
        )
    unbalanced = broken("journal_unbalanced")
    check(
        "journals_balance",
        not unbalanced,
        f"{len(unbalanced)} unbalanced journal(s)" if unbalanced else "every journal sums to zero",
    )
    for c in found.clearing:
        check(
            f"clearing:{c.provider}:{c.currency}",
            c.booked == c.expected,
            f"ledger {c.booked}, captured − refunded {c.expected}",
        )
    kept = broken("unallocated_kept")
    waiting = f"{found.refunds_in_flight} refund(s) in flight"
    check("unallocated_receipts", not kept, f"{len(kept)} order(s) keep unallocated money" if kept else waiting)
    for v in found.violations:
        if v.rule == "refund_total_mismatch":
            check(f"refunds:{v.ids['reference']}", False, v.detail)
        elif v.rule not in SHOWN_ABOVE:
            check(f"{v.rule}:{next(iter(v.ids.values()), '')}", False, str(v))
    return {"event_id": str(event_id) if event_id else None, "balanced": found.ok, "checks": checks}
