"""The invariants' rules over rows read in one snapshot (pure: no I/O): inventory, orders and tickets here, money
in ``money_rules``. ``invariants`` reads the rows and runs them; each rule yields ``Violation``s with the ids of the
rows involved."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from boxoffice.models import (
    Attendee,
    Hold,
    LedgerEntry,
    Order,
    OrderLine,
    Refund,
    Ticket,
    TicketType,
    Transaction,
    Voucher,
    WaitlistEntry,
)
from boxoffice.models.states import REFUND_IN_FLIGHT

LIVE = frozenset({"active", "scanned", "used"})
SOLD = frozenset({"paid", "fulfilled"})


@dataclass(frozen=True)
class Violation:
    """One broken invariant: a stable ``rule`` code, what is wrong, and the ids of the rows involved."""

    rule: str
    detail: str
    ids: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        where = " ".join(f"{k}={v}" for k, v in self.ids.items())
        return f"{self.rule}: {self.detail}" + (f" [{where}]" if where else "")


@dataclass(frozen=True)
class Inventory:
    """One ticket type's counters beside what its holds and tickets say."""

    ticket_type_id: uuid.UUID
    name: str
    capacity: int
    held: int
    active_holds: int
    sold: int
    live_tickets: int


@dataclass
class Rows:
    """Every row in scope, read in one snapshot."""

    types: Sequence[TicketType]
    holds: Sequence[Hold]
    orders: Sequence[Order]
    lines: Sequence[OrderLine]
    txns: Sequence[Transaction]
    tickets: Sequence[Ticket]
    attendees: Sequence[Attendee]
    refunds: Sequence[Refund]
    entries: Sequence[LedgerEntry]
    vouchers: Sequence[Voucher] = ()  # issue 13
    waitlist: Sequence[WaitlistEntry] | None = None  # issue 13 (None: not loaded, their rules are skipped)


class Index:
    """The rows grouped by order, transaction and ticket, built once per check."""

    def __init__(self, rows: Rows) -> None:
        self.holds = _group(rows.holds, lambda h: h.order_id)
        self.lines = _group(rows.lines, lambda ln: ln.order_id)
        self.tickets = _group(rows.tickets, lambda t: t.order_id)
        self.refunds = _group(rows.refunds, lambda r: r.transaction_id)
        self.txn_of = {t.order_id: t for t in rows.txns}
        self.settled_ticket_ids = {t for r in rows.refunds if r.status == "succeeded" for t in r.ticket_ids}
        self.in_flight_auto = {
            r.order_id for r in rows.refunds if r.kind == "automatic" and r.status in REFUND_IN_FLIGHT
        }
        self.journal_keys = {e.journal_key for e in rows.entries}

    def settled_refunds(self, txn: Transaction) -> int:
        return sum(r.amount for r in self.refunds.get(txn.id, []) if r.status == "succeeded")


def _group(items: Sequence[Any], key: Any) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out


def ids_of(ids: Iterable[Any]) -> str:
    """Ids for a violation's detail, comma-separated."""
    return ",".join(str(i) for i in ids)


# --- inventory ---------------------------------------------------------------------------------------------------


def inventory_lines(rows: Rows) -> Iterator[Inventory]:
    active: dict[uuid.UUID, int] = defaultdict(int)
    for h in rows.holds:
        if h.status == "active":
            active[h.ticket_type_id] += h.quantity
    live: dict[uuid.UUID, int] = defaultdict(int)
    for t in rows.tickets:
        if t.status in LIVE:
            live[t.ticket_type_id] += 1
    for tt in rows.types:
        yield Inventory(tt.id, tt.name, tt.capacity, tt.held, active[tt.id], tt.sold, live[tt.id])


def inventory_violations(inventory: Sequence[Inventory], rows: Rows) -> Iterator[Violation]:
    event_of = {tt.id: tt.event_id for tt in rows.types}
    for inv in inventory:
        ids = {"ticket_type": str(inv.ticket_type_id), "event": str(event_of[inv.ticket_type_id])}
        if inv.held + inv.sold > inv.capacity:
            yield Violation("oversold", f"{inv.name}: held {inv.held} + sold {inv.sold} > capacity {inv.capacity}", ids)
        if inv.held != inv.active_holds:
            yield Violation("held_mismatch", f"{inv.name}: held {inv.held}, active holds {inv.active_holds}", ids)
        if inv.sold != inv.live_tickets:
            yield Violation("sold_mismatch", f"{inv.name}: sold {inv.sold}, live tickets {inv.live_tickets}", ids)
    yield from waitlist_violations(rows)


def waitlist_violations(rows: Rows) -> Iterator[Violation]:
    """Issue 13: the seats kept for a waiting list add up. They are free seats (held + sold + voucher-reserved +
    kept ≤ capacity) its waiting buyers want (kept ≤ waiting = Σ seats of its waiting entries), and each open offer
    is a hold of its buyer for its seats."""
    waiting: dict[uuid.UUID, int] = defaultdict(int)
    for e in rows.waitlist or ():
        if e.status == "waiting":
            waiting[e.ticket_type_id] += e.quantity
    for tt in rows.types:
        ids = {"ticket_type": str(tt.id), "event": str(tt.event_id)}
        kept, wanted = tt.waitlist_reserved, tt.waitlist_waiting
        if not 0 <= kept <= wanted:
            yield Violation("waitlist_kept_unwanted", f"{tt.name}: {kept} seats kept for {wanted} wanted", ids)
        if kept > 0 and tt.held + tt.sold + tt.reserved + kept > tt.capacity:
            detail = f"{tt.name}: held {tt.held} + sold {tt.sold} + reserved {tt.reserved} + kept {kept}"
            yield Violation("waitlist_kept_beyond_capacity", f"{detail} > capacity {tt.capacity}", ids)
        if rows.waitlist is not None and wanted != waiting[tt.id]:
            detail = f"{tt.name}: {wanted} seats wanted, waiting entries want {waiting[tt.id]}"
            yield Violation("waitlist_waiting_mismatch", detail, ids)
    holds = {h.id: h for h in rows.holds}
    for e in rows.waitlist or ():
        hold = holds.get(e.hold_id) if e.hold_id is not None else None
        if e.status == "offered" and (
            hold is None
            or (hold.user_id, hold.ticket_type_id, hold.quantity) != (e.user_id, e.ticket_type_id, e.quantity)
        ):
            yield Violation("waitlist_offer_hold", "an offer without its buyer's hold", {"waitlist_entry": str(e.id)})


# --- orders ------------------------------------------------------------------------------------------------------


def order_violations(rows: Rows, ix: Index, *, settled: bool) -> Iterator[Violation]:
    for o in rows.orders:
        ids = {"order": str(o.id)}
        holds, tickets, txn = ix.holds.get(o.id, []), ix.tickets.get(o.id, []), ix.txn_of.get(o.id)
        if o.status in SOLD:
            yield from _sold_order(o, holds, tickets, txn, sum(ln.quantity for ln in ix.lines.get(o.id, [])))
        elif o.status == "refunded":
            kept = [t.id for t in tickets if t.status != "refunded" and t.replaced_by_id is None]
            if not tickets or kept:
                yield Violation("refunded_order_tickets", f"tickets not refunded: {ids_of(kept) or 'none issued'}", ids)
            if o.total_amount > 0 and (
                txn is None or txn.status != "refunded" or txn.refunded_amount != txn.captured_amount
            ):
                what = (
                    "no transaction" if txn is None else f"{txn.status}, {txn.refunded_amount} of {txn.captured_amount}"
                )
                yield Violation("refunded_order_money_kept", f"transaction {what} refunded", ids)
        elif o.status == "cancelled":
            yield from _cancelled_order(o, holds, tickets, txn, in_flight=o.id in ix.in_flight_auto and not settled)
        elif tickets:
            yield Violation(
                "pending_order_tickets", f"{o.status} order has tickets {ids_of(t.id for t in tickets)}", ids
            )


def _sold_order(
    o: Order, holds: Sequence[Hold], tickets: Sequence[Ticket], txn: Transaction | None, quantity: int
) -> Iterator[Violation]:
    ids = {"order": str(o.id)}
    if unconverted := [h.id for h in holds if h.status != "converted"]:
        yield Violation("paid_holds_not_converted", f"holds {ids_of(unconverted)} are not converted", ids)
    partial = o.payment_status == "partially_refunded"
    yield from _transfers(o, tickets)
    tickets = [t for t in tickets if t.replaced_by_id is None]  # issue 13: a transferred ticket's seat is its heir's
    if len(tickets) != quantity:
        yield Violation("paid_tickets_missing", f"{len(tickets)} tickets for {quantity} seats", ids)
    if dead := [t.id for t in tickets if not (t.status in LIVE or (partial and t.status == "refunded"))]:
        yield Violation("paid_tickets_not_live", f"tickets {ids_of(dead)} are not live", ids)
    if len({t.attendee_id for t in tickets if t.attendee_id is not None}) != len(tickets):
        yield Violation("paid_attendees_missing", "tickets without an attendee of their own", ids)
    if o.total_amount == 0:
        if txn is not None or o.payment_status != "not_required":
            yield Violation("free_order_payment", f"free order with payment status {o.payment_status}", ids)
        return
    if txn is None or txn.status != "succeeded" or txn.captured_amount != o.total_amount:
        what = "none" if txn is None else f"{txn.status}, captured {txn.captured_amount}"
        yield Violation("paid_without_payment", f"total {o.total_amount}, transaction {what}", ids)
    elif o.payment_status not in ("paid", "partially_refunded") or (txn.refunded_amount > 0) != partial:
        detail = f"payment status {o.payment_status} with {txn.refunded_amount} refunded"
        yield Violation("payment_status_mismatch", detail, {**ids, "transaction": str(txn.id)})


def _transfers(o: Order, tickets: Sequence[Ticket]) -> Iterator[Violation]:
    """Issue 13: a transferred ticket is voided, and the ticket that replaced it is in the same order."""
    in_order = {t.id for t in tickets}
    for t in tickets:
        if t.replaced_by_id is not None and (t.status != "voided" or t.replaced_by_id not in in_order):
            detail = f"transferred ticket is {t.status}, its replacement {t.replaced_by_id}"
            yield Violation("transfer_broken", detail, {"order": str(o.id), "ticket": str(t.id)})


def _cancelled_order(
    o: Order, holds: Sequence[Hold], tickets: Sequence[Ticket], txn: Transaction | None, *, in_flight: bool
) -> Iterator[Violation]:
    ids = {"order": str(o.id)}
    if kept := [h.id for h in holds if h.status not in ("released", "expired")]:
        yield Violation("cancelled_holds_kept", f"holds {ids_of(kept)} still keep seats", ids)
    if live := [t.id for t in tickets if t.status in LIVE]:
        yield Violation("cancelled_live_tickets", f"live tickets {ids_of(live)}", ids)
    if o.fulfillment_status != "cancelled":
        yield Violation("cancelled_fulfilment", f"fulfilment status {o.fulfillment_status}", ids)
    if txn is None or in_flight:
        return
    ids = {**ids, "transaction": str(txn.id)}
    captured = txn.captured_amount or 0
    if captured > txn.refunded_amount:
        yield Violation("money_kept", f"captured {captured}, refunded {txn.refunded_amount}", ids)
    elif captured and (txn.status != "refunded" or o.payment_status != "refunded"):
        detail = f"refunded capture but transaction {txn.status}, payment status {o.payment_status}"
        yield Violation("cancelled_payment_status", detail, ids)
    elif not captured and (txn.status != "failed" or o.payment_status != "failed"):
        detail = f"nothing captured but transaction {txn.status}, payment status {o.payment_status}"
        yield Violation("cancelled_payment_status", detail, ids)


# --- tickets ---


def ticket_violations(rows: Rows, ix: Index) -> Iterator[Violation]:
    by_id = {str(t.id): t for t in rows.tickets}
    for t in rows.tickets:
        if t.status == "refunded" and str(t.id) not in ix.settled_ticket_ids:
            scanned = t.scanned_at is not None or t.scan_count > 0
            rule = "scanned_ticket_refunded_without_record" if scanned else "ticket_refunded_without_record"
            yield Violation(
                rule, "refunded, but no settled refund lists it", {"order": str(t.order_id), "ticket": str(t.id)}
            )
    for r in rows.refunds:
        if r.status == "succeeded":
            for tid in r.ticket_ids:
                if tid in by_id and by_id[tid].status != "refunded":
                    detail = f"a settled refund lists it, but it is {by_id[tid].status}"
                    yield Violation("refund_ticket_not_refunded", detail, {"refund": str(r.id), "ticket": tid})
    holders = {t.attendee_id for t in rows.tickets}
    for a in rows.attendees:
        if a.order_id in ix.tickets and a.id not in holders:
            yield Violation(
                "attendee_without_ticket",
                "an issued order's attendee holds no ticket",
                {"order": str(a.order_id), "attendee": str(a.id)},
            )


# --- vouchers (issue 13) -----------------------------------------------------------------------------------------


def voucher_uses(rows: Rows) -> dict[uuid.UUID, int]:
    """Seats that hold a use of each voucher: those of its active holds (pending orders' included), and those of
    its lines in sold or refunded orders less the line's refunded tickets (a voided ticket keeps its use: its order
    is still paid). Cancelled orders' holds were released, so they hold none."""
    uses: dict[uuid.UUID, int] = defaultdict(int)
    for h in rows.holds:
        if h.status == "active" and h.voucher_id is not None:
            uses[h.voucher_id] += h.quantity
    status_of = {o.id: o.status for o in rows.orders}
    refunded: dict[uuid.UUID, int] = defaultdict(int)
    for t in rows.tickets:
        if t.status == "refunded":
            refunded[t.order_line_id] += 1
    for ln in rows.lines:
        if ln.voucher_id is not None and status_of.get(ln.order_id) in SOLD | {"refunded"}:
            uses[ln.voucher_id] += ln.quantity - refunded[ln.id]
    return uses


def voucher_violations(rows: Rows) -> Iterator[Violation]:
    """A voucher is never redeemed past ``max_uses``; its ``uses`` equal the seats that hold one (``voucher_uses``);
    a reserving voucher keeps ``max_uses − uses`` seats, any other none; and a ticket type's ``reserved`` is what
    its vouchers keep."""
    held = voucher_uses(rows)
    kept: dict[uuid.UUID, int] = defaultdict(int)
    for v in rows.vouchers:
        ids = {"voucher": str(v.id), "event": str(v.event_id)}
        if v.uses > v.max_uses:
            yield Violation("voucher_overused", f"{v.code}: {v.uses} uses of {v.max_uses}", ids)
        if v.uses != held.get(v.id, 0):
            detail = f"{v.code}: {v.uses} uses, {held.get(v.id, 0)} seats hold one"
            yield Violation("voucher_uses_mismatch", detail, ids)
        if v.reserved != (max(v.max_uses - v.uses, 0) if v.reserving else 0):
            detail = f"{v.code}: reserves {v.reserved} with {v.uses} of {v.max_uses} used, reserving {v.reserving}"
            yield Violation("voucher_reservation_mismatch", detail, ids)
        if v.ticket_type_id is not None:
            kept[v.ticket_type_id] += v.reserved
    for tt in rows.types:
        if tt.reserved != kept.get(tt.id, 0):
            ids = {"ticket_type": str(tt.id), "event": str(tt.event_id)}
            detail = f"{tt.name}: reserved {tt.reserved}, its vouchers keep {kept.get(tt.id, 0)}"
            yield Violation("reserved_mismatch", detail, ids)
