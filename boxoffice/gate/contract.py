"""The gate flow's contract: the check-in sweep, run by a Schedule. Dependency-free: standard library only."""

from __future__ import annotations

from dataclasses import dataclass

CHECKIN_SWEEP_SCHEDULE_ID = "checkin-sweeper"
CHECKIN_SWEEP_WORKFLOW = "CheckinSweepWorkflow"


@dataclass
class SweepInput:
    """``limit``: rows per database transaction (the sweep goes on in batches until nothing is due)."""

    limit: int = 1000


@dataclass
class UsedResult:
    used: int


@dataclass
class NotifyResult:
    notified: int
    failed: int


@dataclass
class SweepResult:
    """Tickets that became ``used`` (their event has ended), and voids whose buyer message was started now."""

    used: int
    notified: int
    failed: int
