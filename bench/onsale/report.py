"""The figures of a flash sale, each printed beside what it is compared with; the exit status says whether the
sale kept its promises (nothing oversold, no money kept without tickets, ``boxoffice check`` clean, all settled)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.measurement import CpuMeter, latency_ms, print_table, verdict
from bench.onsale.buyers import Outcome
from bench.onsale.chaos import Fault
from bench.onsale.outcome import Books
from bench.onsale.traffic import Call

#: Reference figures from the README's other benchmarks (same box, quiet, no faults): not targets here.
README_HOLDS_PER_S = 582  # bench.holds, POST /v1/holds through the API, 16 connections
README_CHECKOUTS_PER_S = 6.3  # bench.checkout, fulfilment on, 8 buyers looping
README_B_P50_MS = 59  # bench.checkout, Pay → tickets issued at low load
ORDER_STATES = ("fulfilled", "paid", "cancelled", "refunded", "pending")


@dataclass
class Sale:
    """Everything one run measured."""

    outcomes: list[Outcome]
    calls: list[Call]
    faults: list[Fault]
    unplanned: list[Fault]
    webhooks: Counter[str]
    opened: float
    closed: float  # the last buyer finished
    settle_seconds: float
    unsettled: dict[str, int]
    meter: CpuMeter
    pages_not_ready: int  # 201s to a repeated POST /v1/checkouts that carried no payment page yet
    too_late: int  # buyers who reached the payment step after the window closed (their app said so)


@dataclass
class Checked:
    """The books once settled, and what ``boxoffice check`` said of them."""

    books: Books
    check_status: int
    check_output: str


def report(sale: Sale, checked: Checked) -> int:
    """Print every table; 0 when every promise held, 1 otherwise."""
    b, m = checked.books, checked.books.money
    print_table(
        ["at (s)", "fault", "back in (s)"],
        [(f.at, f.what, f.down) for f in sale.faults + sale.unplanned],
        title="Faults",
    )
    check_lines = checked.check_output.splitlines()
    promises = [
        ("seats sold (live tickets)", b.live_tickets, f"capacity {b.capacity}", ""),
        ("ticket types' sold counters", b.sold, f"live tickets {b.live_tickets}", verdict(b.sold == b.live_tickets)),
        ("oversells", b.oversold, "0", verdict(b.oversold == 0)),
        ("seats still held after the sale", b.held, "0", verdict(b.held == 0)),
        ("money kept without tickets (minor units)", m.kept_without_tickets, "0", verdict(m.kept_without_tickets == 0)),
        (
            "orders with tickets but not their money",
            m.tickets_without_money,
            "0",
            verdict(m.tickets_without_money == 0),
        ),
        ("payments to unsold orders, given back in full", m.refunded_captures, f"{m.captured_payments} captured", ""),
        ("`boxoffice check --settled` exit status", checked.check_status, "0", verdict(checked.check_status == 0)),
        ("still in flight after settling", sum(sale.unsettled.values()), "0", verdict(not sale.unsettled)),
    ]
    print_table(["figure", "value", "compared with", "target"], promises, title="What the sale must keep")
    print(f"boxoffice check: {check_lines[-1] if check_lines else '(no output)'}")
    for line in check_lines[:-1][:20]:
        print(f"  {line}")
    if sale.unsettled:
        print(f"still in flight after {sale.settle_seconds:.0f} s: {sale.unsettled}")
    _kept(sale, b)
    _orders(sale, b)
    _traffic(sale, b)
    print(f"\nCPU over the sale ({sale.meter.wall:.0f} s): {sale.meter.summary()}")
    ok = all(row[3] != "MISS" for row in promises)
    print(
        f"\n{'PASS' if ok else 'MISS'}: 0 oversells, 0 money kept without tickets, boxoffice check clean, all settled"
    )
    return 0 if ok else 1


def _kept(sale: Sale, b: Books) -> None:
    """Each order whose money a provider kept: who the buyer was and when they paid, against the order's clock."""
    by_order = {o.order_id: o for o in sale.outcomes if o.order_id}
    rows: list[tuple[object, ...]] = []
    for order_id in b.money.kept_orders:
        end, o = b.final[order_id], by_order.get(order_id)
        if o is None:
            rows.append((order_id, end.status, end.reason or "", "?", "?", "", ""))
            continue
        paid = o.acted_at or float("nan")
        after_cancel = paid - end.cancelled_at.timestamp() if end.cancelled_at else float("nan")
        rows.append(
            (
                order_id,
                end.status,
                end.reason or "",
                o.plan.provider,
                f"{o.plan.intent}/{o.plan.webhook}",
                paid - end.expires_at.timestamp(),
                after_cancel,
            )
        )
    if rows:
        headers = [
            "order",
            "status",
            "reason",
            "provider",
            "plan/webhook",
            "paid − window end (s)",
            "paid − cancel (s)",
        ]
        print_table(headers, rows, title="Orders whose money a provider kept")


def _orders(sale: Sale, b: Books) -> None:
    rows = sorted(((s, p, n) for (s, p), n in b.orders.items()), key=lambda r: (-r[2], r[0]))
    print_table(["order status", "payment status", "orders"], rows, title="Orders by final state")
    by_intent: dict[str, Counter[str]] = {}
    for o in sale.outcomes:
        final = b.final[o.order_id].status if o.order_id and o.order_id in b.final else o.result.split(":")[0]
        by_intent.setdefault(o.plan.intent, Counter())[final] += 1
    finals = sorted({f for c in by_intent.values() for f in c}, key=lambda f: (f not in ORDER_STATES, f))
    table = [(intent, sum(c.values()), *(c.get(f, 0) for f in finals)) for intent, c in sorted(by_intent.items())]
    print_table(["buyer meant to", "buyers", *finals], table, title="Each buyer's plan against how their order ended")
    payers_unsold = Counter(
        b.final[o.order_id].reason or "?"
        for o in sale.outcomes
        if o.plan.intent == "pay" and o.order_id and o.order_id in b.final and b.final[o.order_id].status == "cancelled"
    )
    print(f"payers whose order was cancelled, by reason: {dict(payers_unsold) or 'none'}")
    print(f"buyers by what they saw: {dict(Counter(o.result for o in sale.outcomes).most_common())}")
    print(f"repeated checkouts answered 201 before their payment page existed: {sale.pages_not_ready}")
    print(f"buyers who reached the payment step after their window had closed (told so): {sale.too_late}")
    print(f"webhooks by fate: {dict(sorted(sale.webhooks.items()))}")
    print(f"refunds (kind, status): {dict(b.refunds)}; webhook inbox: {dict(b.webhooks)}")


def _traffic(sale: Sale, b: Books) -> None:
    span = max(sale.closed - sale.opened, 1e-9)
    labels = sorted({c.label for c in sale.calls})
    rows = []
    for label in labels:
        calls = [c for c in sale.calls if c.label == label]
        lat = latency_ms([c.seconds for c in calls if 0 < c.status < 500])
        statuses = Counter(f"{c.status or 'none'}{' ' + c.code if c.code else ''}" for c in calls)
        shown = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
        rows.append((label, len(calls), shown, lat["p50"], lat["p90"], lat["p99"], lat["max"]))
    print_table(["request", "count", "answers", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows, title="Requests")

    first = [c for c in sale.calls if c.label == "POST /v1/holds" and c.at < sale.opened + 5.0]
    rush = max((max(c.at + c.seconds for c in first) - min(c.at for c in first)) if first else 0.0, 1e-9)
    opened = [c for c in sale.calls if c.label == "POST /v1/checkouts" and c.status == 201]
    paid_at = sorted(e.paid_at.timestamp() for e in b.final.values() if e.paid_at and e.status in ("paid", "fulfilled"))
    paid_span = max(paid_at[-1] - paid_at[0], 1e-9) if len(paid_at) > 1 else float("nan")
    answered = sum(1 for c in sale.calls if c.status)
    throughput = [
        (
            "requests answered per second, whole sale",
            answered / span,
            "",
            f"{len(sale.calls)} requests in {span:.0f} s",
        ),
        (
            "hold answers per second, first 5 s of the rush",
            len(first) / rush,
            README_HOLDS_PER_S,
            "bench.holds (README)",
        ),
        ("checkouts opened per second", len(opened) / span, README_CHECKOUTS_PER_S, "bench.checkout (README)"),
        (
            "orders paid per second, first to last",
            len(paid_at) / paid_span,
            README_CHECKOUTS_PER_S,
            "bench.checkout (README)",
        ),
    ]
    print_table(["throughput", "value", "reference", "reference is"], throughput, title="Throughput")
    tickets = []
    for o in sale.outcomes:
        end = b.final.get(o.order_id or "")
        if o.plan.intent == "pay" and o.acted_at and end and end.paid_at and end.status in ("paid", "fulfilled"):
            tickets.append(end.paid_at.timestamp() - o.acted_at)
    lat = latency_ms(tickets)
    rows2 = [("Pay pressed → order paid with tickets", len(tickets), lat["p50"], lat["p90"], lat["p99"], lat["max"])]
    print_table(["latency", "orders", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows2, title="Latency under fault")
    print(f"reference: bench.checkout's Pay → tickets p50 at low load on a quiet box is {README_B_P50_MS} ms (README)")
