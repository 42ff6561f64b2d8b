"""What a benchmark measures and prints: CPU used by groups of processes (from ``/proc``, Linux only),
latency percentiles, and aligned text tables."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

#: Returns the pids of one group of processes (re-evaluated at each sample, so newcomers are counted).
PidSource = Callable[[], Sequence[int]]


# Processes and their CPU -------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces; the fields after the closing parenthesis start at "state".
    return raw[raw.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pids_named(comm: str) -> list[int]:
    """Pids whose command name is ``comm`` (e.g. every ``postgres`` backend)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    out.append(int(entry.name))
    return out


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (the benchmarks' database runs locally)."""
    return pids_named("postgres")


def this_process() -> list[int]:
    """The benchmark's own pid (the client side when it drives the load itself)."""
    return [os.getpid()]


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User+system CPU seconds each live pid has used so far."""
    out = {}
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


@dataclass
class CpuMeter:
    """CPU used by named groups of processes between ``start()`` and ``stop()``.

    Groups are re-evaluated at both ends so processes (e.g. postgres backends) that appear during the run are
    counted from zero.
    """

    groups: dict[str, PidSource]
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _t0: float = 0.0
    used: dict[str, float] = field(default_factory=dict)
    per_pid: dict[str, dict[int, float]] = field(default_factory=dict)
    wall: float = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: cpu_seconds(get()) for name, get in self.groups.items()}

    def start(self) -> None:
        self._before, self._t0 = self._sample(), time.monotonic()

    def stop(self) -> None:
        after, self.wall = self._sample(), time.monotonic() - self._t0
        for name, now in after.items():
            before = self._before.get(name, {})
            self.per_pid[name] = {pid: v - before.get(pid, 0.0) for pid, v in now.items()}
            self.used[name] = sum(self.per_pid[name].values())

    def summary(self) -> str:
        """e.g. ``client 0.9 cores, api 0.7 cores, postgres 0.3 cores`` over the metered wall time."""
        wall = self.wall or 1.0
        parts = []
        for name, used in self.used.items():
            busy = sorted((v / wall for v in self.per_pid.get(name, {}).values() if v / wall >= 0.05), reverse=True)
            split = f" ({'+'.join(f'{b:.2f}' for b in busy)})" if name == "api" and len(busy) > 1 else ""
            parts.append(f"{name} {used / wall:.2f} cores{split}")
        return ", ".join(parts)


# Figures -----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def latency_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds of latencies given in seconds."""
    return {
        "p50": percentile(values, 50) * 1000,
        "p90": percentile(values, 90) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": (max(values) * 1000) if values else float("nan"),
    }


def verdict(ok: bool) -> str:
    """How a figure against its target is printed."""
    return "PASS" if ok else "MISS"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None) -> None:
    """A plain, aligned text table (numbers right-aligned), readable in a terminal and in CI logs."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "n/a" if v != v else f"{v:,.2f}" if abs(v) < 10 else f"{v:,.0f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    numeric = [
        any(isinstance(row[i], int | float) for row in rows)
        and all(isinstance(row[i], int | float) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    if title:
        print(f"\n{title}")
    print(line(list(headers)))
    print("  ".join("-" * w for w in widths))
    for r in text:
        print(line(r))
