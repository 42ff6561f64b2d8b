"""The tables ``bench.checkout`` prints: latency at low load, throughput beside the ceiling, latency and CPU under
load, CPU per checkout, and where the time goes."""

from __future__ import annotations

import sys
from collections import Counter

from bench.checkout.breakdown import breakdown_rows
from bench.checkout.figures import ModeResult, Plan
from bench.measurement import latency_ms, print_table, verdict

TARGET_RATIO = 0.70
TARGET_CHECKOUT_P50_MS = 100.0
TARGET_TICKETS_P50_MS = 200.0
CPU_GROUPS = ["client", "api", "worker", "temporal", "postgres"]


def _row(label: str, lat: dict[str, float], *rest: object) -> list[object]:
    return [label, lat["p50"], lat["p90"], lat["p99"], lat["max"], *rest]


def print_latency(plan: Plan, noop: ModeResult, modes: list[ModeResult]) -> None:
    """Latency A and B at concurrency 1 against their targets, beside the no-op's floors."""
    rows: list[list[object]] = []
    for m in modes:
        a = latency_ms([s.checkout_s for s in m.latency.samples])
        b = latency_ms([s.tickets_s for s in m.latency.samples])
        pay = latency_ms([s.pay_end - s.pay_start for s in m.latency.samples])
        a_ok, b_ok = a["p50"] <= TARGET_CHECKOUT_P50_MS, b["p50"] <= TARGET_TICKETS_P50_MS
        a_target, b_target = f"p50 <= {TARGET_CHECKOUT_P50_MS:.0f}", f"p50 <= {TARGET_TICKETS_P50_MS:.0f}"
        rows.append(_row(f"{m.label}: POST /v1/checkouts → payment_url", a, a_target, verdict(a_ok)))
        rows.append(_row(f"{m.label}: webhook → tickets issued", b, b_target, verdict(b_ok)))
        rows.append(_row(f"{m.label}: (Pay form POST answered)", pay, "", ""))
        emailed = [s.fulfilled_at - s.tickets_at for s in m.latency.samples if s.fulfilled_at is not None]
        if emailed:
            rows.append(_row(f"{m.label}: (tickets → PDF e-mailed)", latency_ms(emailed), "", ""))
    samples = noop.latency.samples
    rows.append(
        _row("no-op: update-with-start → update result", latency_ms([s.checkout_s for s in samples]), "floor of A", "")
    )
    rows.append(
        _row(
            "no-op: signal sent → workflow result",
            latency_ms([s.tickets_at - s.pay_end for s in samples]),
            "floor of B",
            "",
        )
    )
    rows.append(_row("no-op: signal RPC", latency_ms([s.pay_end - s.pay_start for s in samples]), "", ""))
    print_table(
        ["latency (concurrency 1)", "p50 ms", "p90 ms", "p99 ms", "max ms", "target", "verdict"],
        rows,
        title=f"Latency at low load ({plan.checkouts} checkouts one at a time, observed via {plan.observe})",
    )
    for m in modes:
        if m.latency.meter is not None:
            print(f"  CPU, {m.label}: {m.latency.meter.summary()}")


def print_throughput(plan: Plan, noop: ModeResult, modes: list[ModeResult]) -> None:
    """Checkouts per second at each concurrency beside the no-op ceiling, then latency and CPU under load."""
    rows: list[list[object]] = []
    for c in plan.concurrency:
        ceiling = noop.throughput[c].rate if c in noop.throughput else 0.0
        for m in modes:
            run = m.throughput[c]
            ratio = run.rate / ceiling if ceiling else 0.0
            target = f">= {TARGET_RATIO:.2f}"
            rows.append(
                [f"{m.label}, {c} buyers", run.rate, ceiling, f"{ratio:.2f}", target, verdict(ratio >= TARGET_RATIO)]
            )
        rows.append([f"no-op ceiling, {c} clients", ceiling, "", "", "", ""])
    print_table(
        ["checkouts/s", "value", "ceiling", "ratio", "target", "verdict"],
        rows,
        title=f"Throughput ({plan.duration:g}s windows)",
    )

    load_rows: list[list[object]] = []
    for c in plan.concurrency:
        for m in [*modes, noop]:
            if c not in m.throughput:
                continue
            run = m.throughput[c]
            w = run.in_window()
            a = latency_ms([s.checkout_s for s in w])
            b = latency_ms([s.tickets_s if m is not noop else s.tickets_at - s.pay_end for s in w])
            cpu = run.meter.summary() if run.meter else ""
            load_rows.append([f"{m.label}, {c}", len(w), a["p50"], a["p99"], b["p50"], b["p99"], cpu])
    print_table(
        ["under load", "done", "A p50", "A p99", "B p50", "B p99", "CPU during the window (2 cores)"],
        load_rows,
        title="Latency and CPU under load (A = checkout → payment_url, B = pay → tickets; ms)",
    )


def print_cpu_per_checkout(plan: Plan, modes: list[ModeResult], noop: ModeResult) -> None:
    """CPU milliseconds per completed checkout, by process group, in each throughput window.

    On a box whose cores every process shares, this is what bounds throughput: the ceiling spends its CPU on
    Temporal alone, while a checkout also pays for the API, PostgreSQL, the sandbox provider (played by the
    API) and the buyers (the bench client)."""
    rows: list[list[object]] = []
    for c in plan.concurrency:
        for m in [*modes, noop]:
            run = m.throughput.get(c)
            if run is None or run.meter is None or not run.in_window():
                continue
            n = len(run.in_window())
            per = {g: 1000 * run.meter.used.get(g, 0.0) / n for g in CPU_GROUPS}
            used = [per[g] if g in run.meter.used else "" for g in CPU_GROUPS]
            rows.append([f"{m.label}, {c}", *used, sum(per.values())])
    if rows:
        print_table(
            ["CPU ms per checkout", *CPU_GROUPS, "total"], rows, title="CPU per checkout in the throughput windows"
        )


def print_breakdowns(modes: list[ModeResult], noop: ModeResult) -> None:
    """Where the time of the low-load checkouts went, per mode, and how long the fulfilment backlog took."""
    for m in [*modes, noop]:
        if m.breakdown:
            rows = breakdown_rows(m.breakdown)
            if m.activities:
                rows += [["activities (bench worker's interceptor)", "", ""], *m.activities]
            print_table(
                ["step", "median ms", "n"],
                rows,
                title=f"Where the time goes at concurrency 1, {m.label} (server event times from the histories)",
            )
        if m.drained is not None:
            n, secs = m.drained
            print(f"  {m.label}: {n} paid orders awaited fulfilment after the run; drained in {secs:.1f}s")


def report(plan: Plan, noop: ModeResult, modes: list[ModeResult]) -> int:
    """Print the tables; return 1 if any checkout failed."""
    print_latency(plan, noop, modes)
    print_throughput(plan, noop, modes)
    print_cpu_per_checkout(plan, modes, noop)
    print_breakdowns(modes, noop)

    failed = False
    for m in [*modes, noop]:
        errors = Counter(m.latency.errors)
        for run in m.throughput.values():
            errors.update(run.errors)
        if errors:
            failed = True
            print(f"\nerrors, {m.label}:", file=sys.stderr)
            for msg, n in errors.most_common(10):
                print(f"  {n} × {msg}", file=sys.stderr)
    return 1 if failed else 0
