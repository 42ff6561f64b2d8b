"""The double-entry ledger: balanced journals, posted once, never edited (a correction is a new journal).

Accounts (amount signed: debit +, credit −):
- ``provider_clearing:{provider}``: money held for us at a payment provider (asset).
- ``organizer_payable``: ticket revenue owed to the organiser (liability).
- ``platform_fee_revenue``: service fees (revenue).
- ``tips_payable``: tips owed to the organiser (liability).
- ``unallocated_receipts``: money captured for an order that could not be fulfilled, until it is refunded.

Vouchers (issue 13) are less revenue, not an expense: a discounted ticket is sold at its lower price, so the sale
credits ``organizer_payable`` with the discounted subtotal, as pretix books a voucher sale at the price paid. There
is no contra account: the organiser grants the discount out of their own revenue, nobody owes anybody the
difference, and a refund gives back exactly what was paid. The sale journal's memo names the vouchers and the
discount (``sale_memo``), and the order and its lines record it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.models import Journal, LedgerEntry

ORGANIZER_PAYABLE = "organizer_payable"
PLATFORM_FEES = "platform_fee_revenue"
TIPS_PAYABLE = "tips_payable"
UNALLOCATED = "unallocated_receipts"


def clearing(provider: str) -> str:
    return f"provider_clearing:{provider}"


class UnbalancedJournal(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: str
    amount: int  # debit +, credit −


async def post_journal(
    session: AsyncSession,
    *,
    key: str,
    organization_id: str,
    kind: str,
    currency: str,
    postings: list[Posting],
    event_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    memo: str | None = None,
) -> bool:
    """Post a balanced journal once. Returns False (and posts nothing) when ``key`` was posted before."""
    postings = [p for p in postings if p.amount != 0]
    if sum(p.amount for p in postings) != 0:
        raise UnbalancedJournal(f"journal {key} does not balance: {postings}")
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(Journal)
    inserted = await session.execute(
        ins.values(key=key, organization_id=organization_id).on_conflict_do_nothing().returning(col(Journal.key))
    )
    if inserted.first() is None:
        return False
    for p in postings:
        session.add(
            LedgerEntry(
                journal_key=key,
                organization_id=organization_id,
                event_id=event_id,
                order_id=order_id,
                kind=kind,
                account=p.account,
                amount=p.amount,
                currency=currency,
                memo=memo,
            )
        )
    await session.flush()
    return True


def sale_memo(order_id: uuid.UUID, discount_cents: int, voucher_codes: list[str]) -> str:
    """The sale journal's memo: the order, and its vouchers' discount when it had one (within the memo's 200)."""
    memo = f"order {order_id}"
    if discount_cents and voucher_codes:
        codes = ", ".join(dict.fromkeys(voucher_codes))
        memo += f"; {discount_cents} off with voucher{'s' if ',' in codes else ''} {codes}"
    return memo if len(memo) <= 200 else memo[:199] + "…"


def sale_postings(provider: str, subtotal: int, fee: int, tip: int) -> list[Posting]:
    return [
        Posting(clearing(provider), subtotal + fee + tip),
        Posting(ORGANIZER_PAYABLE, -subtotal),
        Posting(PLATFORM_FEES, -fee),
        Posting(TIPS_PAYABLE, -tip),
    ]


async def balances(
    session: AsyncSession, organization_id: str, *, event_id: uuid.UUID | None = None
) -> dict[tuple[str, str], int]:
    """(account, currency) → balance."""
    stmt = select(col(LedgerEntry.account), col(LedgerEntry.currency), func.sum(col(LedgerEntry.amount))).where(
        col(LedgerEntry.organization_id) == organization_id
    )
    if event_id is not None:
        stmt = stmt.where(col(LedgerEntry.event_id) == event_id)
    rows = await session.execute(stmt.group_by(col(LedgerEntry.account), col(LedgerEntry.currency)))
    return {(a, c): int(s) for a, c, s in rows.all()}


async def unbalanced_journals(session: AsyncSession, organization_id: str) -> list[str]:
    """Keys of journals whose entries do not sum to zero per currency (always empty unless data was tampered)."""
    rows = await session.execute(
        select(col(LedgerEntry.journal_key), col(LedgerEntry.currency), func.sum(col(LedgerEntry.amount)))
        .where(col(LedgerEntry.organization_id) == organization_id)
        .group_by(col(LedgerEntry.journal_key), col(LedgerEntry.currency))
    )
    return [k for k, _c, s in rows.all() if int(s) != 0]


def by_account(bal: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (account, currency), amount in bal.items():
        out[account][currency] = amount
    return dict(out)
