"""The tables ``bench.holds`` prints: throughput beside the ceiling, latency, inventory, the oversell check."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bench.holds.ceiling import PgbenchOptions, PgbenchResult
from bench.holds.load import LoadResult
from bench.holds.oversell import Inventory, OversellOutcome
from bench.measurement import CpuMeter, latency_ms, print_table, verdict

TARGET_RATIO = 0.30


@dataclass(frozen=True)
class Ceiling:
    """The pgbench runs and the inventory the first one left."""

    options: PgbenchOptions
    result: PgbenchResult
    with_select: PgbenchResult | None
    inv: Inventory


@dataclass(frozen=True)
class ApiFigure:
    """One load run through the API: what the client saw, the CPU over its window, the inventory after."""

    label: str
    load: LoadResult
    meter: CpuMeter
    inv: Inventory


def report(
    ceiling: Ceiling,
    figures: list[ApiFigure],
    bursts: list[tuple[int, OversellOutcome]],
    *,
    concurrency: int,
    oversell_factor: int,
) -> int:
    """Print the tables; return the exit status (1 on any oversell or inconsistency)."""
    pg = ceiling.result
    rows: list[list[object]] = []
    for f in figures:
        ratio = f.load.rate / pg.tps if pg.tps else 0.0
        target = f">= {TARGET_RATIO:.2f}"
        rows.append(
            [f.label, f.load.rate, "raw PG ceiling", pg.tps, f"{ratio:.2f}", target, verdict(ratio >= TARGET_RATIO)]
        )
    rows.append([f"raw PG ceiling ({ceiling.options.label})", pg.tps, "", "", "", "", ""])
    if ceiling.with_select is not None:
        rows.append(["raw PG, + the service's SELECT (info)", ceiling.with_select.tps, "", "", "", "", ""])
    print_table(["figure", "value", "vs", "ceiling", "ratio", "target", "verdict"], rows, title="Throughput")

    lat_rows: list[list[object]] = []
    for f in figures:
        lat = latency_ms(f.load.window_latencies)
        label = f.label.replace("holds/s via ", "")
        lat_rows.append([label, lat["p50"], lat["p90"], lat["p99"], lat["max"], f.meter.summary()])
    lat_rows.append([f"pgbench mean ({ceiling.options.clients} clients)", pg.latency_ms, "", "", "", ""])
    print_table(
        ["POST /v1/holds latency", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU during the window"],
        lat_rows,
        title=f"Latency ({concurrency} concurrent connections)",
    )

    failed = False
    inv_rows: list[list[object]] = []
    for f in figures:
        over = f.inv.oversells(expected_held=f.load.created)
        failed |= over != 0 or bool(f.load.errors)
        other = {k: v for k, v in f.load.statuses.items() if k != 201}
        non_201 = f"{other or ''} {dict(f.load.errors) or ''}".strip()
        inv_rows.append([f.label, f.load.created, f.inv.held, f.inv.active_quantity, over, non_201])
    over = ceiling.inv.oversells()
    failed |= over != 0
    inv_rows.append(["pgbench ceiling run", pg.transactions, ceiling.inv.held, ceiling.inv.active_quantity, over, ""])
    print_table(
        ["run", "201s / txs", "held", "Σ active holds", "oversells", "non-201"],
        inv_rows,
        title="Inventory after the load",
    )

    burst_rows: list[list[object]] = []
    total_over = 0
    for workers, b in bursts:
        total_over += b.oversells
        failed |= not b.ok
        a = b.answers
        result = "ok" if b.ok else f"FAIL {dict(a.statuses)} {dict(a.codes)} {dict(a.errors) or ''}"
        burst_rows.append(
            [
                f"{workers} worker(s)",
                b.capacity,
                b.fired,
                a.statuses[201],
                a.codes["sold_out"],
                b.inv.held,
                b.inv.active_quantity,
                b.inv.held + b.inv.sold <= b.inv.capacity,
                b.oversells,
                result,
            ]
        )
    print_table(
        [
            "oversell check",
            "capacity",
            "fired",
            "201",
            "409 sold_out",
            "held",
            "Σ active",
            "held+sold<=cap",
            "oversells",
            "result",
        ],
        burst_rows,
        title=f"Oversell check ({oversell_factor}x capacity, fired at once)",
    )
    print(f"\noversells: {total_over}")
    if failed:
        print("FAILED: inventory inconsistency or oversell (see above)", file=sys.stderr)
    return 1 if failed else 0
