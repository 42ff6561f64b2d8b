"""The events flow's contract (issue 13): what follows an event's edit or cancellation to the orders already sold.

- ``EventCancellationWorkflow`` (``event-cancellation-{event_id}``): sales are stopped by the API; the run stops the
  checkouts in progress, then goes through the event's paid orders page by page at a bounded rate, starting one
  ``RefundWorkflow`` per order (its refund id derived from the order) and sending one cancellation message per order;
  free orders' tickets are voided. It waits until every refund is settled, with its progress as the ``progress``
  query and the run's current details, and continues as new every so many orders (carrying its cursor).
- ``EventChangeWorkflow`` (``event-change-{event_id}-{revision}``): after an edit of what buyers were sold (name,
  venue, times), the tickets' payloads are re-signed with their new validity (same ids and codes) and each order's
  buyer gets the re-rendered PDF, at a bounded rate.

Dependency-free: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_CANCELLATION_WORKFLOW = "EventCancellationWorkflow"
EVENT_CHANGE_WORKFLOW = "EventChangeWorkflow"
QUERY_PROGRESS = "progress"
# The message kind an edit's buyers get: their tickets as they are now, PDF attached ("Updated tickets for …").
CHANGE_MESSAGE_KIND = "tickets_updated"


def cancellation_workflow_id(event_id: str) -> str:
    return f"event-cancellation-{event_id}"


def change_workflow_id(event_id: str, revision: int) -> str:
    return f"event-change-{event_id}-{revision}"


@dataclass
class Pace:
    """How fast a run goes through orders: at most ``orders_per_second`` (``batch_size`` per activity); a new run
    (continue-as-new) after ``orders_per_run`` orders; while refunds settle, a look every ``poll_seconds``."""

    orders_per_second: float = 10.0
    batch_size: int = 10
    orders_per_run: int = 500
    poll_seconds: int = 5


@dataclass
class CancellationProgress:
    """Where an event's cancellation stands. ``total``: orders to settle (paid with money left, free with live
    tickets); ``done``: settled (refund paid out, free tickets voided); ``failed``: refunds the provider refused, sent
    again until they succeed (never given up). ``deferred``: orders waiting for another refund of theirs to settle."""

    event_id: str
    state: str = "stopping_sales"  # stopping_sales, refunding, settling, done
    total: int = 0
    done: int = 0
    failed: int = 0
    refunds_started: int = 0
    refunds_settled: int = 0
    orders_voided: int = 0
    deferred: int = 0
    checkouts_stopped: int = 0
    holds_released: int = 0
    runs: int = 1


@dataclass
class CancellationInput:
    """``cursor``: the last order id handled in the current pass (a continued run goes on after it)."""

    event_id: str
    organization_id: str
    pace: Pace = field(default_factory=Pace)
    cursor: str | None = None
    progress: CancellationProgress | None = None


@dataclass
class OrderPage:
    """The next orders of ``event_id`` still to handle, after ``after`` (ids in order), at most ``limit``."""

    event_id: str
    after: str | None
    limit: int


@dataclass
class OrderBatch:
    event_id: str
    order_ids: list[str]


@dataclass
class OrderOutcome:
    order_id: str
    outcome: str  # refund_started, refund_settled, voided, deferred, nothing_left


@dataclass
class StopResult:
    """Unclaimed holds released, and the checkouts asked to stop (``stopping``: still pending, runs asked)."""

    holds_released: int
    checkouts_stopped: int
    stopping: int


@dataclass
class Tally:
    """The cancellation as the database has it: its refunds by state, free orders voided, orders still to handle."""

    refunds: int = 0
    refunded: int = 0
    failed: int = 0
    in_flight: int = 0
    voided_orders: int = 0
    unhandled: int = 0

    @property
    def total(self) -> int:
        return self.refunds + self.voided_orders + self.unhandled

    @property
    def done(self) -> int:
        return self.refunded + self.voided_orders


@dataclass
class BatchResult:
    """Each order's outcome, and the cancellation's tally once the batch is done."""

    outcomes: list[OrderOutcome] = field(default_factory=list)
    tally: Tally | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)


@dataclass
class ChangeInput:
    """An edit of ``revision`` of the event: ``reissued`` once every ticket carries the new validity; ``cursor``
    and ``told`` carry the messages' progress across runs."""

    event_id: str
    revision: int
    pace: Pace = field(default_factory=Pace)
    reissued: bool = False
    cursor: str | None = None
    told: int = 0


@dataclass
class ReissueInput:
    event_id: str
    limit: int = 500


@dataclass
class ChangePage:
    """The next orders of ``event_id`` whose buyers to tell about ``revision``; none once it is superseded."""

    event_id: str
    revision: int
    after: str | None
    limit: int


@dataclass
class ChangeBatch:
    event_id: str
    revision: int
    order_ids: list[str]


@dataclass
class ChangeResult:
    event_id: str
    revision: int
    reissued: int
    told: int
