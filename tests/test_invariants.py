"""The invariant checker (``boxoffice check``, ``books.invariants``): a sold event is clean; each invariant, broken by
editing the database behind the application's back, is reported with the ids of the rows involved; the command
exits 0 when clean and 1 on any violation, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from boxoffice.api.app import create_app
from boxoffice.books.invariants import Findings, check_books
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.models import LedgerEntry, Refund
from boxoffice.models.types import utcnow
from boxoffice.payments.providers import Providers
from boxoffice.worker import build_workers
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.e2e_stack import free_socket, serve_app, url_of
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type

BOXOFFICE = Path(sys.executable).parent / "boxoffice"


@dataclass
class Sale:
    """A sold event's ids: a fulfilled order of 3 with one ticket refunded, a declined order, an active hold, and
    a second event with nothing sold."""

    event: uuid.UUID
    other_event: uuid.UUID
    ticket_type: uuid.UUID
    paid: uuid.UUID
    paid_txn: uuid.UUID
    live: list[uuid.UUID]
    refunded_ticket: uuid.UUID
    refund: uuid.UUID
    declined: uuid.UUID
    declined_txn: uuid.UUID


async def sell(api: httpx.AsyncClient, tokens: Tokens) -> Sale:
    """Sell through the API as buyers and an organiser would, until everything has settled."""
    admin = tokens.admin()
    event = await make_event(api, admin, service_fee_fixed_cents=300)
    other = await make_event(api, admin, name="Matinee")
    await make_ticket_type(api, admin, other["id"], capacity=5)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, base_price_cents=5000)
    paid = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 3)], tip_cents=200)).json()
    await press(api, paid["payment_url"], "pay")
    order = await wait_order(api, admin, paid["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    refunded = order["tickets"][0]["id"]
    r = await api.post(f"/v1/orders/{order['id']}/refunds", json={"ticket_ids": [refunded]}, headers=admin)
    assert r.status_code == 202, r.text
    order = await wait_order(api, admin, order["id"], lambda o: o["transaction"]["refunded_amount"] > 0)
    assert order["payment_status"] == "partially_refunded", order
    declined = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1, user="bob")], user="bob")).json()
    await press(api, declined["payment_url"], "decline")
    gone = await wait_order(api, admin, declined["order_id"], lambda o: o["status"] == "cancelled")
    assert gone["status"] == "cancelled", gone
    await hold(api, tokens, tt["id"], 1, user="carol")
    txn_of = {t["order_id"]: uuid.UUID(t["id"]) for t in (await api.get("/v1/transactions", headers=admin)).json()}
    return Sale(
        event=uuid.UUID(event["id"]),
        other_event=uuid.UUID(other["id"]),
        ticket_type=uuid.UUID(tt["id"]),
        paid=uuid.UUID(order["id"]),
        paid_txn=txn_of[order["id"]],
        live=[uuid.UUID(t["id"]) for t in order["tickets"] if t["status"] == "active"],
        refunded_ticket=uuid.UUID(refunded),
        refund=uuid.UUID(r.json()["refund_id"]),
        declined=uuid.UUID(gone["id"]),
        declined_txn=txn_of[gone["id"]],
    )


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


async def boxoffice_check(database_url: str, data_dir: Path, *args: str) -> tuple[int, str]:
    """Run the real ``boxoffice check`` command; its exit status and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env |= {"BOXOFFICE_ENV": "test", "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_DATA_DIR": str(data_dir)}
    proc = await asyncio.create_subprocess_exec(
        str(BOXOFFICE), "check", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_boxoffice_check_on_postgres(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, pg_url: str, tmp_path: Path
) -> None:
    sale = await sell(api, tokens)
    status, out = await boxoffice_check(pg_url, tmp_path, "--settled")
    assert status == 0 and "0 violation(s)" in out and "2 of 15 seats sold" in out, out

    async with db.transaction() as s:
        await s.execute(text("UPDATE ticket_types SET held = held + 1 WHERE id = :tt"), {"tt": sale.ticket_type})
    status, out = await boxoffice_check(pg_url, tmp_path)
    assert status == 1, out
    assert f"held_mismatch: GA: held 2, active holds 1 [ticket_type={sale.ticket_type} event={sale.event}]" in out
    assert "1 violation(s)" in out
    # Scoped to the other event, nothing is wrong; an event that does not exist is a usage error.
    status, out = await boxoffice_check(pg_url, tmp_path, "--event", str(sale.other_event))
    assert status == 0 and "0 violation(s)" in out, out
    status, out = await boxoffice_check(pg_url, tmp_path, "--event", str(uuid.uuid4()))
    assert status == 2 and "no event" in out, out


@pytest.fixture
async def sqlite_stack(
    temporal: Client, tmp_path: Path, task_queue: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The API over real HTTP and the worker, on a SQLite database; yields a client and the database URL."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    upgrade(url)
    sock = free_socket()
    settings = settings_for(tmp_path, url, task_queue, public_url=url_of(sock))
    db = Database(url)
    providers = Providers(settings)
    app = create_app(settings, db=db, temporal=temporal, providers=providers)
    workers = build_workers(temporal, db, settings, providers=providers)
    try:
        client = httpx.AsyncClient(base_url=url_of(sock), timeout=30)
        async with serve_app(app, sock), workers[0], workers[1], client:
            yield client, url
    finally:
        workers.close()
        await providers.aclose()
        await db.dispose()


async def test_boxoffice_check_on_sqlite(
    sqlite_stack: tuple[httpx.AsyncClient, str], tokens: Tokens, tmp_path: Path
) -> None:
    api, url = sqlite_stack
    sale = await sell(api, tokens)
    status, out = await boxoffice_check(url, tmp_path, "--settled")
    assert status == 0 and "0 violation(s)" in out, out

    db = Database(url)
    try:
        async with db.transaction() as s:
            await s.execute(text("UPDATE ticket_types SET sold = sold - 1 WHERE sold > 0"))
    finally:
        await db.dispose()
    status, out = await boxoffice_check(url, tmp_path)
    assert status == 1, out
    assert f"sold_mismatch: GA: sold 1, live tickets 2 [ticket_type={sale.ticket_type} event={sale.event}]" in out
