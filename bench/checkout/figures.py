"""What ``bench.checkout`` plans and records: the phases' sizes, one checkout as the buyer saw it, the samples of a
phase, and the figures of a worker layout."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.measurement import CpuMeter


@dataclass(frozen=True)
class Plan:
    """How much each phase measures and how buyers behave (from the command line)."""

    checkouts: int
    warmup_checkouts: int
    concurrency: list[int]
    warmup: float
    duration: float
    quantity: int = 1
    observe: str = "db"
    poll_ms: float = 5.0


class CheckoutFailed(Exception):
    """A checkout did not end with tickets (an HTTP error, a cancelled order, or a timeout)."""


@dataclass
class Sample:
    """One checkout as the buyer saw it (wall-clock seconds, comparable with Temporal's event times)."""

    order_id: str
    workflow_id: str
    checkout_start: float
    checkout_end: float
    pay_start: float
    pay_end: float
    tickets_at: float
    fulfilled_at: float | None = None  # low-load runs with fulfilment: when the order was seen ``fulfilled``

    @property
    def checkout_s(self) -> float:
        return self.checkout_end - self.checkout_start

    @property
    def tickets_s(self) -> float:
        return self.tickets_at - self.pay_start


@dataclass
class Run:
    """Samples of one phase, and (for a throughput phase) the window the rate is counted in."""

    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    window: tuple[float, float] = (0.0, 0.0)
    meter: CpuMeter | None = None

    def failed(self, exc: Exception) -> None:
        self.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

    def in_window(self) -> list[Sample]:
        lo, hi = self.window
        return [s for s in self.samples if lo <= s.tickets_at <= hi]

    @property
    def rate(self) -> float:
        lo, hi = self.window
        return len(self.in_window()) / (hi - lo) if hi > lo else 0.0


@dataclass
class ModeResult:
    """The figures of one fulfilment mode (or of the no-op ceiling)."""

    label: str
    latency: Run
    throughput: dict[int, Run]
    breakdown: list[dict[str, float]] = field(default_factory=list)
    activities: list[list[object]] = field(default_factory=list)
    drained: tuple[int, float] | None = None
