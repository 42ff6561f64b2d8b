"""The invariant checker (``books.invariants``): a sold event is clean; each invariant, broken by editing the
database behind the application's back, is reported with the ids of the rows involved. The command itself
(``boxoffice check``) is ``test_check_command.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.books.invariants import Findings, check_books
from boxoffice.db import Database
from boxoffice.models import LedgerEntry, Refund
from boxoffice.models.types import utcnow
from tests.harness import Tokens
from tests.invariant_sale import Sale, sell


async def tampered(db: Database, tamper: Callable[[AsyncSession], Awaitable[None]], *, settled: bool) -> Findings:
    """What the checker finds once ``tamper`` has edited the database, in a transaction rolled back afterwards."""
    async with db.session() as s:
        try:
            await tamper(s)
            await s.flush()
            return await check_books(s, organization_id="org1", settled=settled)
        finally:
            await s.rollback()


def sql(statement: str, **params: Any) -> Callable[[AsyncSession], Awaitable[None]]:
    async def run(s: AsyncSession) -> None:
        for one in statement.split(";"):
            await s.execute(text(one), params)

    return run


def cases(sale: Sale) -> list[tuple[str, Callable[[AsyncSession], Awaitable[None]], dict[str, dict[str, str]]]]:
    """(what is broken, how, every violation expected: rule → ids it names)."""
    s, t0, t1 = sale, sale.live[0], sale.live[1]
    tt = {"ticket_type": str(s.ticket_type), "event": str(s.event)}
    paid, declined = {"order": str(s.paid)}, {"order": str(s.declined)}
    paid_txn = {**paid, "transaction": str(s.paid_txn)}
    declined_txn = {**declined, "transaction": str(s.declined_txn)}
    org = {"organization": "org1"}

    async def forge_entry(session: AsyncSession) -> None:
        session.add(
            LedgerEntry(
                journal_key="sale:forged",
                organization_id="org1",
                event_id=s.event,
                kind="sale",
                account="provider_clearing:sandbox",
                amount=100,
                currency="ZAR",
            )
        )

    return [
        (
            "held + sold > capacity",
            sql(
                "ALTER TABLE ticket_types DROP CONSTRAINT ck_ticket_types_inventory;"
                "UPDATE ticket_types SET capacity = held + sold - 1 WHERE id = :tt",
                tt=s.ticket_type,
            ),
            {"oversold": tt},
        ),
        (
            "held ≠ Σ active holds",
            sql("UPDATE ticket_types SET held = held + 1 WHERE id = :tt", tt=s.ticket_type),
            {"held_mismatch": tt},
        ),
        (
            "sold ≠ live tickets",
            sql("UPDATE tickets SET status = 'voided' WHERE id = :t", t=t0),
            {"sold_mismatch": tt, "paid_tickets_not_live": paid},
        ),
        (
            "a paid order without its tickets",
            sql("DELETE FROM tickets WHERE id = :t", t=t0),
            {"paid_tickets_missing": paid, "sold_mismatch": tt, "attendee_without_ticket": paid},
        ),
        (
            "a paid order without a succeeded transaction",
            sql("UPDATE transactions SET status = 'failed' WHERE id = :id", id=s.paid_txn),
            {"paid_without_payment": paid},
        ),
        (
            "a paid order whose seats are not converted",
            sql("UPDATE holds SET status = 'released' WHERE order_id = :o", o=s.paid),
            {"paid_holds_not_converted": paid},
        ),
        (
            "a cancelled order with a live ticket",
            sql("UPDATE tickets SET order_id = :o WHERE id = :t", o=s.declined, t=t0),
            {"cancelled_live_tickets": declined, "paid_tickets_missing": paid},
        ),
        (
            "a cancelled order keeping its seats",
            sql("UPDATE holds SET status = 'active' WHERE order_id = :o", o=s.declined),
            {"cancelled_holds_kept": declined, "held_mismatch": tt},
        ),
        (
            "a cancelled order keeping captured money",
            sql(
                "UPDATE transactions SET status = 'succeeded', captured_amount = amount WHERE id = :id",
                id=s.declined_txn,
            ),
            {"money_kept": declined_txn, "ledger_disagrees": declined_txn, "clearing_mismatch": org},
        ),
        (
            "refunds exceeding the payment",
            sql("UPDATE refunds SET amount = 1000000 WHERE id = :r", r=s.refund),
            {"refunds_exceed_payment": paid_txn, "refund_total_mismatch": paid_txn},
        ),
        (
            "a transaction's refunded amount not its settled refunds",
            sql("UPDATE transactions SET refunded_amount = 0 WHERE id = :id", id=s.paid_txn),
            {
                "refund_total_mismatch": paid_txn,
                "payment_status_mismatch": paid_txn,
                "ledger_disagrees": paid_txn,
                "clearing_mismatch": org,
            },
        ),
        (
            "an unbalanced journal",
            forge_entry,
            {"journal_unbalanced": {"journal": "sale:forged"}, "clearing_mismatch": org},
        ),
        (
            "a ledger that disagrees with the transactions",
            sql("DELETE FROM ledger_entries WHERE journal_key = :k", k=f"sale:{s.paid}"),
            {"ledger_disagrees": paid_txn, "clearing_mismatch": org},
        ),
        (
            "a settled refund never posted",
            sql("DELETE FROM ledger_entries WHERE journal_key = :k", k=f"refund:{s.refund}"),
            {
                "refund_not_posted": {**paid, "refund": str(s.refund)},
                "ledger_disagrees": paid_txn,
                "clearing_mismatch": org,
            },
        ),
        (
            "a scanned ticket refunded without a record",
            sql(
                "UPDATE tickets SET status = 'refunded', scanned_at = :now, scan_count = 1 WHERE id = :t",
                t=t1,
                now=utcnow(),
            ),
            {"scanned_ticket_refunded_without_record": {**paid, "ticket": str(t1)}, "sold_mismatch": tt},
        ),
        (
            "a refunded ticket back in use",
            sql("UPDATE tickets SET status = 'active' WHERE id = :t", t=s.refunded_ticket),
            {
                "refund_ticket_not_refunded": {"refund": str(s.refund), "ticket": str(s.refunded_ticket)},
                "sold_mismatch": tt,
            },
        ),
    ]


async def test_each_invariant_broken_is_reported_with_its_ids(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    sale = await sell(api, tokens)
    clean = await tampered(db, sql("SELECT 1"), settled=True)
    assert clean.ok, [str(v) for v in clean.violations]
    assert (clean.orders, clean.tickets) == (2, 3)
    for what, tamper, expected in cases(sale):
        found = await tampered(db, tamper, settled=False)
        got = {v.rule: v for v in found.violations}
        assert set(got) == set(expected), (what, [str(v) for v in found.violations])
        for rule, ids in expected.items():
            assert ids.items() <= got[rule].ids.items(), (what, str(got[rule]))
    # Nothing above was kept.
    assert (await tampered(db, sql("SELECT 1"), settled=True)).ok


async def test_captured_money_of_a_cancelled_order_is_kept_unless_its_refund_is_in_flight(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    sale = await sell(api, tokens)

    async def late_capture(s: AsyncSession, refund_status: str) -> None:
        """What a late payment leaves: the capture booked into unallocated receipts and its automatic refund."""
        amount = (
            await s.execute(text("SELECT amount FROM transactions WHERE id = :id"), {"id": sale.declined_txn})
        ).one()[0]
        await sql(
            "UPDATE transactions SET status = 'succeeded', captured_amount = amount WHERE id = :id",
            id=sale.declined_txn,
        )(s)
        for account, signed in (("provider_clearing:sandbox", amount), ("unallocated_receipts", -amount)):
            s.add(
                LedgerEntry(
                    journal_key=f"capture:{sale.declined}",
                    organization_id="org1",
                    event_id=sale.event,
                    order_id=sale.declined,
                    kind="capture",
                    account=account,
                    amount=signed,
                    currency="ZAR",
                )
            )
        s.add(
            Refund(
                order_id=sale.declined,
                transaction_id=sale.declined_txn,
                organization_id="org1",
                amount=amount,
                currency="ZAR",
                kind="automatic",
                status=refund_status,
            )
        )

    async def in_flight(s: AsyncSession) -> None:
        await late_capture(s, "pending")

    live = await tampered(db, in_flight, settled=False)
    assert live.ok and live.refunds_in_flight == 1, [str(v) for v in live.violations]
    quiet = await tampered(db, in_flight, settled=True)
    assert {v.rule: v.ids["order"] for v in quiet.violations} == {
        "money_kept": str(sale.declined),
        "unallocated_kept": str(sale.declined),
    }
