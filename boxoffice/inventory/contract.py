"""The inventory flow's contract: hold expiry, run by a Schedule. Dependency-free: standard library only."""

from __future__ import annotations

from dataclasses import dataclass

HOLD_EXPIRY_WORKFLOW = "HoldExpiryWorkflow"
HOLD_EXPIRY_SCHEDULE_ID = "hold-expiry-sweeper"


@dataclass
class ExpireHoldsInput:
    limit: int = 1000


@dataclass
class ExpireHoldsResult:
    expired: int
