"""The tables ``bench.gate`` prints: each figure beside its ceiling with PASS/MISS, latency, and CPU per request."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.gate.offline import OfflineFigures
from bench.holds.load import LoadResult
from bench.measurement import CpuMeter, latency_ms, print_table, verdict

OFFLINE_TARGET = 0.8
ONLINE_TARGET = 0.8


@dataclass(frozen=True)
class Window:
    """One measured window: what the client saw and the CPU each process group used."""

    label: str
    load: LoadResult
    meter: CpuMeter

    def cpu_ms_per_request(self) -> dict[str, float]:
        done = max(1, self.load.window_created)
        return {name: used * 1000 / done for name, used in self.meter.used.items()}


def report(offline: OfflineFigures, scans: list[Window], holds: list[Window], *, concurrency: int) -> None:
    gate_ratio = offline.gate / offline.raw
    rows: list[list[object]] = [
        [
            "offline verifications/s (OfflineGate)",
            offline.gate,
            "raw Ed25519 verify/s",
            offline.raw,
            f"{gate_ratio:.2f}",
            f">= {OFFLINE_TARGET:.2f}",
            verdict(gate_ratio >= OFFLINE_TARGET),
        ],
        ["verify_with_bundle/s, bundle read per payload (info)", offline.one_shot_rate, "", "", "", "", ""],
    ]
    if scans and holds:
        scan_rate = statistics.mean(w.load.rate for w in scans)
        hold_rate = statistics.mean(w.load.rate for w in holds)
        online_ratio = scan_rate / hold_rate if hold_rate else 0.0
        rows.append(
            [
                "scans/s via API (admissions)",
                scan_rate,
                "holds/s via API, same run",
                hold_rate,
                f"{online_ratio:.2f}",
                f">= {ONLINE_TARGET:.2f}",
                verdict(online_ratio >= ONLINE_TARGET),
            ]
        )
    print_table(["figure", "value", "vs", "ceiling", "ratio", "target", "verdict"], rows, title="Throughput")
    print(
        f"(offline, per CPU second of one core: {offline.payloads} payloads, {offline.revoked} revoked ids in the bundle, "
        f"median of "
        f"{len(offline.gate_rates)} alternating rounds; rounds: gate {[round(r) for r in offline.gate_rates]}, "
        f"raw {[round(r) for r in offline.raw_rates]})"
    )

    lat_rows: list[list[object]] = []
    for w in [*holds, *scans]:
        lat = latency_ms(w.load.window_latencies)
        lat_rows.append([w.label, w.load.rate, lat["p50"], lat["p90"], lat["p99"], lat["max"], w.meter.summary()])
    print_table(
        ["window", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU during the window"],
        lat_rows,
        title=f"Each window ({concurrency} concurrent keep-alive connections)",
    )

    cpu_rows: list[list[object]] = []
    for w in [*holds, *scans]:
        per = w.cpu_ms_per_request()
        cpu_rows.append([w.label, *(per.get(k, 0.0) for k in ("api", "postgres", "client")), sum(per.values())])
    print_table(["CPU per request (ms)", "api", "postgres", "client", "total"], cpu_rows, title="Where the time goes")
    odd = {
        w.label: (dict(w.load.codes), dict(w.load.errors)) for w in [*holds, *scans] if w.load.codes or w.load.errors
    }
    if odd:
        print(f"\nanswers other than a success: {odd}")
