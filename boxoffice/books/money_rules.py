"""The invariants' money rules (pure: no I/O): refunds never exceed payments and add up to what each transaction
says was refunded; every journal balances; the ledger agrees with the transactions, per transaction and per
provider; unallocated receipts are zero unless (on a live system) their automatic refund is in flight."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from boxoffice.books import ledger
from boxoffice.books.invariant_rules import Index, Rows, Violation, ids_of
from boxoffice.models.states import REFUND_IN_FLIGHT

CLEARING = ledger.clearing("")  # every provider's clearing account starts so


@dataclass(frozen=True)
class Clearing:
    """The money booked at one provider beside what its transactions captured minus refunded."""

    organization_id: str
    provider: str
    currency: str
    booked: int
    expected: int


def payment_violations(rows: Rows, ix: Index) -> Iterator[Violation]:
    for txn in rows.txns:
        ids = {"order": str(txn.order_id), "transaction": str(txn.id), "reference": txn.reference}
        settled = ix.settled_refunds(txn)
        if txn.refunded_amount != settled:
            yield Violation("refund_total_mismatch", f"refunded {txn.refunded_amount}, settled refunds {settled}", ids)
        claimed = [r for r in ix.refunds.get(txn.id, []) if r.status == "succeeded" or r.status in REFUND_IN_FLIGHT]
        asked, captured = sum(r.amount for r in claimed), txn.captured_amount or 0
        if asked > captured or txn.refunded_amount > captured:
            detail = f"refunds {asked} (refunded {txn.refunded_amount}) exceed the {captured} captured"
            yield Violation("refunds_exceed_payment", detail, {**ids, "refunds": ids_of(r.id for r in claimed)})
    for r in rows.refunds:
        if r.status == "succeeded" and f"refund:{r.id}" not in ix.journal_keys:
            yield Violation(
                "refund_not_posted", "a settled refund has no journal", {"order": str(r.order_id), "refund": str(r.id)}
            )


# --- the ledger --------------------------------------------------------------------------------------------------


def clearing_lines(rows: Rows) -> Iterator[Clearing]:
    booked: dict[tuple[str, str, str], int] = defaultdict(int)
    for e in rows.entries:
        if e.account.startswith(CLEARING):
            booked[(e.organization_id, e.account.split(":", 1)[1], e.currency)] += e.amount
    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    for t in rows.txns:
        expected[(t.organization_id, t.provider, t.captured_currency or t.currency)] += (
            t.captured_amount or 0
        ) - t.refunded_amount
    for key in sorted(booked.keys() | expected.keys()):
        yield Clearing(*key, booked=booked.get(key, 0), expected=expected.get(key, 0))


def ledger_violations(rows: Rows, ix: Index, clearing: Sequence[Clearing], *, settled: bool) -> Iterator[Violation]:
    journals: dict[tuple[str, str], int] = defaultdict(int)
    at_provider: dict[uuid.UUID | None, int] = defaultdict(int)
    unallocated: dict[uuid.UUID | None, int] = defaultdict(int)
    for e in rows.entries:
        journals[(e.journal_key, e.currency)] += e.amount
        if e.account.startswith(CLEARING):
            at_provider[e.order_id] += e.amount
        elif e.account == ledger.UNALLOCATED:
            unallocated[e.order_id] += e.amount
    for (key, currency), total in sorted(journals.items()):
        if total:
            yield Violation("journal_unbalanced", f"sums to {total} {currency}", {"journal": key})
    for txn in rows.txns:
        expected = (txn.captured_amount or 0) - txn.refunded_amount
        if at_provider.get(txn.order_id, 0) != expected:
            detail = f"booked {at_provider.get(txn.order_id, 0)} at {txn.provider}, captured − refunded {expected}"
            yield Violation("ledger_disagrees", detail, {"order": str(txn.order_id), "transaction": str(txn.id)})
    for c in clearing:
        if c.booked != c.expected:
            detail = f"{c.provider} {c.currency}: booked {c.booked}, captured − refunded {c.expected}"
            yield Violation("clearing_mismatch", detail, {"organization": c.organization_id})
    for order_id, amount in sorted(unallocated.items(), key=lambda kv: str(kv[0])):
        if amount and (settled or order_id not in ix.in_flight_auto):
            yield Violation("unallocated_kept", f"{-amount} in unallocated receipts", {"order": str(order_id)})
