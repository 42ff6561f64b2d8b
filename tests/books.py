"""The invariant every fault must leave intact: holds, inventory, orders, transactions, tickets, attendees
and ledger agree. ``assert_books_balanced`` checks all of it for an organisation; ``assert_refunds_consistent``
checks what still holds while refunds are partly done."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from boxoffice.db import Database
from boxoffice.models import Attendee, Hold, LedgerEntry, Order, OrderLine, Refund, Ticket, TicketType, Transaction

LIVE = {"active", "scanned", "used"}


async def assert_books_balanced(db: Database, org: str = "org1") -> dict[str, object]:
    async with db.session() as s:
        types = (await s.execute(select(TicketType).where(col(TicketType.organization_id) == org))).scalars().all()
        holds = (await s.execute(select(Hold).where(col(Hold.organization_id) == org))).scalars().all()
        orders = (await s.execute(select(Order).where(col(Order.organization_id) == org))).scalars().all()
        lines = (await s.execute(select(OrderLine))).scalars().all()
        txns = (await s.execute(select(Transaction).where(col(Transaction.organization_id) == org))).scalars().all()
        tickets = (await s.execute(select(Ticket).where(col(Ticket.organization_id) == org))).scalars().all()
        attendees = (await s.execute(select(Attendee))).scalars().all()
        entries = (await s.execute(select(LedgerEntry).where(col(LedgerEntry.organization_id) == org))).scalars().all()
        refunds = (await s.execute(select(Refund).where(col(Refund.organization_id) == org))).scalars().all()

    # Inventory: held is the sum of active holds; sold is the number of live tickets; never oversold.
    for tt in types:
        active = sum(h.quantity for h in holds if h.ticket_type_id == tt.id and h.status == "active")
        live = sum(1 for t in tickets if t.ticket_type_id == tt.id and t.status in LIVE)
        assert tt.held == active, f"{tt.name}: held {tt.held} != active holds {active}"
        assert tt.sold == live, f"{tt.name}: sold {tt.sold} != live tickets {live}"
        assert tt.held + tt.sold <= tt.capacity

    by_order_lines = defaultdict(list)
    for ln in lines:
        by_order_lines[ln.order_id].append(ln)
    txn_of = {t.order_id: t for t in txns}
    for o in orders:
        own_holds = [h for h in holds if h.order_id == o.id]
        own_tickets = [t for t in tickets if t.order_id == o.id]
        txn = txn_of.get(o.id)
        qty = sum(ln.quantity for ln in by_order_lines[o.id])
        if o.status in ("paid", "fulfilled"):
            partial = o.payment_status == "partially_refunded"
            assert all(h.status == "converted" for h in own_holds), f"order {o.id}: holds not converted"
            assert len(own_tickets) == qty
            assert all(t.status in LIVE or (partial and t.status == "refunded") for t in own_tickets)
            assert len({t.attendee_id for t in own_tickets}) == qty
            if o.total_amount > 0:
                assert txn is not None and txn.status == "succeeded" and txn.captured_amount == o.total_amount
                assert o.payment_status in ("paid", "partially_refunded") and (txn.refunded_amount > 0) == partial
            else:
                assert txn is None and o.payment_status == "not_required"
        elif o.status == "refunded":
            assert own_tickets and all(t.status == "refunded" for t in own_tickets)
            assert txn is not None and txn.status == "refunded" and txn.refunded_amount == txn.captured_amount
        elif o.status == "cancelled":
            assert all(h.status in ("released", "expired") for h in own_holds), f"order {o.id}: holds kept"
            assert not own_tickets, f"cancelled order {o.id} has tickets"
            assert o.fulfillment_status == "cancelled"
            if txn is not None:
                if txn.captured_amount:  # money arrived anyway: it must have been given back
                    assert txn.status == "refunded" and txn.refunded_amount == txn.captured_amount, txn
                    assert o.payment_status == "refunded"
                else:
                    assert txn.status == "failed" and o.payment_status == "failed"
        elif o.status == "pending":
            assert not own_tickets
    for t in txns:  # what a transaction says was refunded is exactly what its settled refunds add up to
        settled = sum(r.amount for r in settled_refunds(t, refunds))
        assert t.refunded_amount == settled, f"transaction {t.id}: refunded {t.refunded_amount} != refunds {settled}"
    ticket_attendees = {t.attendee_id for t in tickets}
    order_ids_with_tickets = {t.order_id for t in tickets}
    assert all(a.id in ticket_attendees for a in attendees if a.order_id in order_ids_with_tickets)

    journals = assert_ledger_balanced(entries, txns)
    unallocated = sum(e.amount for e in entries if e.account == "unallocated_receipts")
    assert unallocated == 0 or any(r.status != "succeeded" for r in refunds), "captured money left unallocated"
    return {"orders": len(orders), "tickets": len(tickets), "journals": len(journals)}


def settled_refunds(txn: Transaction, refunds: Sequence[Refund]) -> list[Refund]:
    """The refunds of ``txn`` that the provider has confirmed."""
    return [r for r in refunds if r.transaction_id == txn.id and r.status == "succeeded"]


def assert_ledger_balanced(entries: Sequence[LedgerEntry], txns: Sequence[Transaction]) -> dict[str, int]:
    """Every journal balances, and the money at each provider equals what was captured there minus what was
    refunded. Returns each journal's sum (all zero) by journal key."""
    journals: dict[str, int] = defaultdict(int)
    clearing: dict[str, int] = defaultdict(int)
    for e in entries:
        journals[e.journal_key] += e.amount
        if e.account.startswith("provider_clearing:"):
            clearing[e.account.split(":", 1)[1]] += e.amount
    assert all(v == 0 for v in journals.values()), {k: v for k, v in journals.items() if v}
    expected: dict[str, int] = defaultdict(int)
    for t in txns:
        expected[t.provider] += (t.captured_amount or 0) - t.refunded_amount
    assert {k: v for k, v in clearing.items() if v} == {k: v for k, v in expected.items() if v}
    return dict(journals)


async def assert_refunds_consistent(db: Database, org: str = "org1") -> None:
    """Refund invariants, also for partly refunded orders (which ``assert_books_balanced`` does not accept yet):
    seats sold = live tickets, every journal balances, money at each provider = captured − refunded, each
    transaction's refunded amount = its settled refunds, refunded tickets = tickets of settled requested refunds."""
    async with db.session() as s:
        types = (await s.execute(select(TicketType).where(col(TicketType.organization_id) == org))).scalars().all()
        tickets = (await s.execute(select(Ticket).where(col(Ticket.organization_id) == org))).scalars().all()
        txns = (await s.execute(select(Transaction).where(col(Transaction.organization_id) == org))).scalars().all()
        refunds = (await s.execute(select(Refund).where(col(Refund.organization_id) == org))).scalars().all()
        entries = (await s.execute(select(LedgerEntry).where(col(LedgerEntry.organization_id) == org))).scalars().all()
    for tt in types:
        assert tt.sold == sum(1 for t in tickets if t.ticket_type_id == tt.id and t.status in LIVE), tt.name
    journals = assert_ledger_balanced(entries, txns)
    for txn in txns:
        done = settled_refunds(txn, refunds)
        assert txn.refunded_amount == sum(r.amount for r in done), txn
        assert all(f"refund:{r.id}" in journals for r in done)
    refunded = {str(t.id) for t in tickets if t.status == "refunded"}
    assert refunded == {t for r in refunds if r.status == "succeeded" for t in r.ticket_ids}
