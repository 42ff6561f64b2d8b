"""Business metrics: every ``boxoffice_*`` Prometheus series, defined once, and how facts are counted.

Each process counts what it does itself: the API its holds, webhooks, refund requests and scans; the worker its
checkouts, payments, tickets, refund settlements and relays. The API serves its series on ``GET /metrics``; the
worker on its own small HTTP server (``serve_worker_metrics``, ``BOXOFFICE_METRICS_PORT``), beside the Temporal
SDK's own series (``sdk_runtime``, ``BOXOFFICE_SDK_METRICS_PORT``). Prometheus adds the replicas up.

Rules for a series:
- labels are low-cardinality codes (a provider, an outcome, a refusal code), never ids; ``code`` bounds a free
  value to a short identifier or ``other``;
- a fact is counted where it happens (a rules module or an activity), and a fact that a database transaction
  makes true is counted only once that transaction commits (``on_commit``), in the branch that made the change:
  a retried activity that finds the work done, or a transaction that rolls back, counts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram, start_http_server
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from boxoffice.logging import get_logger

log = get_logger(__name__)

# --- the series -------------------------------------------------------------------------------------------------

HOLDS_TAKEN = Counter("boxoffice_holds_taken_total", "Holds taken (seats held for a buyer), once committed")
HOLD_SEATS_TAKEN = Counter("boxoffice_hold_seats_taken_total", "Seats taken by holds, once committed")
HOLDS_REFUSED = Counter("boxoffice_holds_refused_total", "Hold requests refused, by problem code", ["code"])

CHECKOUTS_STARTED = Counter(
    "boxoffice_checkouts_started_total", "Checkouts whose order was opened (holds claimed), by provider", ["provider"]
)
CHECKOUTS_PAID = Counter(
    "boxoffice_checkouts_paid_total", "Checkouts completed as paid orders, by provider", ["provider"]
)
CHECKOUTS_CANCELLED = Counter(
    "boxoffice_checkouts_cancelled_total",
    "Checkouts cancelled (seats given back), by provider and reason",
    ["provider", "reason"],
)
# From the moment the payment page was recorded to the moment the payment was decided (paid, declined, timed out,
# cancelled): how long buyers take at the provider. ``outcome`` is ``paid`` or the cancellation reason.
PAYMENT_WAIT = Histogram(
    "boxoffice_payment_wait_seconds",
    "Payment page recorded → payment decided, by provider and outcome",
    ["provider", "outcome"],
    buckets=(5, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600),
)
TICKETS_ISSUED = Counter("boxoffice_tickets_issued_total", "Tickets issued by completed orders")

REFUNDS = Counter(
    "boxoffice_refunds_total",
    "Refund state changes: requested, pending (sent to the provider), succeeded, failed; kind requested|automatic",
    ["kind", "state"],
)

SCANS = Counter("boxoffice_scans_total", "Gate scans answered, by result and direction", ["result", "direction"])

# recorded | duplicate | ignored | unusable | invalid_signature (receiving), then delivered | resolved | queued
# (the first delivery to the workflow; ``queued`` means it is left to the relay).
WEBHOOK_DELIVERIES = Counter(
    "boxoffice_webhook_deliveries_total",
    "Provider webhooks received and delivered, by provider and outcome",
    ["provider", "outcome"],
)
# The relay's deliveries of events whose first delivery failed: delivered | resolved | failed.
WEBHOOK_RELAYS = Counter(
    "boxoffice_webhook_relays_total",
    "Webhook events delivered by the relay, by provider and outcome",
    ["provider", "outcome"],
)

_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def code(value: str | None) -> str:
    """``value`` as a label: a short snake_case identifier (a problem code, a reason; ``HoldExpired`` becomes
    ``hold_expired``), else ``other``; never an id or free text, so a series cannot grow without bound."""
    snake = _CAMEL.sub("_", value).lower() if value else ""
    return snake if _CODE.fullmatch(snake) else "other"


def seconds_between(start: datetime | None, end: datetime) -> float | None:
    """``end - start`` in seconds, or None when there is no start (never negative: clocks of two hosts)."""
    return None if start is None else max((end - start).total_seconds(), 0.0)


# --- counting on commit -----------------------------------------------------------------------------------------

_PENDING = "boxoffice.metrics.pending"


def on_commit(session: Any, action: Callable[[], object]) -> None:
    """Run ``action`` (an increment) once the session's current transaction commits, and never if it rolls back.

    ``session`` is a SQLAlchemy ``Session`` or an ``AsyncSession`` (its ``sync_session`` is used). Actions run in
    the order they were registered, right after the commit.
    """
    sync: Session = getattr(session, "sync_session", session)
    sync.info.setdefault(_PENDING, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING, ()):
        try:
            action()
        except Exception:  # a metric must never fail a committed transaction's caller
            log.exception("metric update failed")


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: its facts did not happen
        session.info.pop(_PENDING, None)


# --- the worker's endpoints ---------------------------------------------------------------------------------------


class MetricsUnavailable(Exception):
    """A metrics endpoint cannot be served (its port is taken); the message is one line naming the variable."""


def serve_worker_metrics(host: str, port: int) -> Callable[[], None]:
    """Serve this process's ``boxoffice_*`` series (and the Python process's own) as Prometheus text on
    ``http://host:port/metrics``, from a daemon thread. Returns a function that stops the server.
    ``MetricsUnavailable`` when the address cannot be bound."""
    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as exc:
        raise MetricsUnavailable(f"cannot serve metrics on {host}:{port} (BOXOFFICE_METRICS_PORT): {exc}") from None

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


def sdk_runtime(host: str, port: int) -> Runtime:
    """A Temporal ``Runtime`` whose Core SDK serves its own worker metrics (task slots, poll and schedule-to-start
    latencies, workflow and activity execution latency, sticky cache) as Prometheus text on ``host:port``. Pass it
    to ``Client.connect(runtime=…)``; one per process (it binds the port). ``MetricsUnavailable`` when it cannot."""
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"{host}:{port}", durations_as_seconds=True),
                global_tags={"service": "boxoffice-worker"},
            )
        )
    except ValueError as exc:  # the Core SDK reports a bind failure as ValueError
        raise MetricsUnavailable(
            f"cannot serve SDK metrics on {host}:{port} (BOXOFFICE_SDK_METRICS_PORT): {exc}"
        ) from None
