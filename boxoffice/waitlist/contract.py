"""The waiting list flow's contract: one long-running run per ticket type's list, driven by signals.

``WaitlistWorkflow`` (``waitlist-{ticket_type_id}``) offers the seats kept for a ticket type's waiting list to the
buyers in line, in order: an offer is a hold made for the buyer, reserved for them for ``offer_seconds``; an
offer not taken by then is passed on to the next in line. It wakes when told (``joined``, ``left``,
``seats_freed``, ``offer_declined``), at an offer's deadline, and every ``recheck_seconds`` (in case a signal was
lost); it ends when nobody is in the line, and the next signal starts it again (signal-with-start).

The ``waitlist-sweeper`` Schedule runs ``WaitlistSweepWorkflow``, which makes sure every list with buyers in it has
its run (a join whose signal was lost still gets served).

Dependency-free: standard library only. Times are ISO 8601 strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WAITLIST_WORKFLOW = "WaitlistWorkflow"
WAITLIST_SWEEP_WORKFLOW = "WaitlistSweepWorkflow"
WAITLIST_SWEEP_SCHEDULE_ID = "waitlist-sweeper"

SIGNAL_JOINED = "joined"
SIGNAL_LEFT = "left"
SIGNAL_SEATS_FREED = "seats_freed"
SIGNAL_OFFER_DECLINED = "offer_declined"
QUERY_PROGRESS = "progress"


def waitlist_workflow_id(ticket_type_id: str) -> str:
    return f"waitlist-{ticket_type_id}"


@dataclass
class ListChange:
    """What a signal says happened to the list: an entry joined, left or declined its offer (``entry_id``), or
    seats came back (``source``: who gave them back, e.g. ``release``, ``refund``, ``void``, ``sweep``)."""

    entry_id: str | None = None
    source: str | None = None


@dataclass
class WaitlistTotals:
    """What a list's runs have done so far (carried across continue-as-new)."""

    offers_made: int = 0
    offers_taken: int = 0
    offers_passed: int = 0
    advances: int = 0


@dataclass
class WaitlistInput:
    ticket_type_id: str
    offer_seconds: int = 900
    recheck_seconds: int = 300
    totals: WaitlistTotals = field(default_factory=WaitlistTotals)


@dataclass
class AdvanceInput:
    """Settle the list's offers and offer kept seats to the next in line, as of ``now`` (the run's clock)."""

    ticket_type_id: str
    offer_seconds: int
    now: str


@dataclass
class OpenOffer:
    """An offer still open: the hold ``hold_id`` of ``quantity`` seats, for the entry ``entry_id`` until
    ``expires_at``; ``in_checkout`` once the buyer's checkout has claimed it (it is then the checkout's)."""

    entry_id: str
    hold_id: str
    quantity: int
    expires_at: str
    in_checkout: bool = False


@dataclass
class AdvanceResult:
    """The list after one step: the entries offered seats now, in line order, and those whose offer was taken or
    passed on; what is still open, waiting and kept. ``closed``: sales are over, the line was closed."""

    ticket_type_id: str
    offered: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    open_offers: list[OpenOffer] = field(default_factory=list)
    waiting_entries: int = 0
    waiting_seats: int = 0
    kept_seats: int = 0
    closed: bool = False


@dataclass
class WaitlistProgress:
    """The ``progress`` query: the list as its run last saw it, and its totals."""

    ticket_type_id: str
    waiting_entries: int = 0
    waiting_seats: int = 0
    kept_seats: int = 0
    open_offers: list[OpenOffer] = field(default_factory=list)
    totals: WaitlistTotals = field(default_factory=WaitlistTotals)
    last_step_at: str | None = None


@dataclass
class SweepInput:
    limit: int = 1000


@dataclass
class SweepResult:
    """Lists with buyers in them, and how many of their runs had to be started."""

    lists: int
    started: int
