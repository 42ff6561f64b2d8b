"""The worker process: every flow's workflows and activities on their task queues, the Schedules operators see,
and the search attributes they filter by.

- ``boxoffice-checkout``: checkout, refunds, webhooks (relay, late payment), inventory (hold expiry) and the
  gate (check-in sweep).
- ``boxoffice-documents``: fulfilment (PDF, e-mail), CPU-heavy, so it can run on workers of its own.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.client import (
    Client,
)
from temporalio.worker import Worker

from boxoffice.checkout.activities import OrderActivities
from boxoffice.checkout.payment_activities import PaymentActivities
from boxoffice.checkout.workflow import CheckoutWorkflow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.events.activities import EventActivities
from boxoffice.events.workflow import EventCancellationWorkflow, EventChangeWorkflow
from boxoffice.fulfilment.activities import DocumentActivities
from boxoffice.fulfilment.workflow import FulfillmentWorkflow, MessageWorkflow
from boxoffice.gate.activities import GateActivities
from boxoffice.gate.workflow import CheckinSweepWorkflow
from boxoffice.inventory.activities import InventoryActivities
from boxoffice.inventory.workflow import HoldExpiryWorkflow
from boxoffice.logging import get_logger
from boxoffice.messaging import Mailer
from boxoffice.metrics import sdk_runtime, serve_worker_metrics
from boxoffice.payments.providers import Providers
from boxoffice.refunds.activities import RefundActivities
from boxoffice.refunds.workflow import RefundWorkflow
from boxoffice.sandbox.links import checkout_complete_url
from boxoffice.schedules import ensure_schedules
from boxoffice.storage import storage_from_url
from boxoffice.temporal import RunLabels, connect_checked, converter_for
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.pdf import font_subsetter
from boxoffice.tracing import process_tracing
from boxoffice.waitlist import hints as waitlist_hints
from boxoffice.waitlist.activities import WaitlistActivities
from boxoffice.waitlist.client import WaitlistRuns
from boxoffice.waitlist.workflow import WaitlistSweepWorkflow, WaitlistWorkflow
from boxoffice.webhooks.activities import RelayActivities
from boxoffice.webhooks.workflow import LatePaymentWorkflow, WebhookRelayWorkflow

log = get_logger(__name__)


def _with_overrides(fns: list[Callable[..., Any]], overrides: dict[str, Callable[..., Any]] | None) -> list[Any]:
    """Replace activities by name (tests of the workflow's branching register a fake under the same name)."""
    if not overrides:
        return fns
    names = {getattr(f, "__temporal_activity_definition").name: f for f in fns}
    names.update(overrides)
    return list(names.values())


class Workers(list[Worker]):
    """The workers of this process, and ``close()`` for what they own beyond Temporal (the PDF renderer)."""

    def __init__(self, workers: Sequence[Worker], documents: DocumentActivities):
        super().__init__(workers)
        self.documents = documents

    def close(self) -> None:
        """After the workers have shut down: stop the PDF renderer process."""
        self.documents.close()

    async def aclose(self) -> None:
        """After the workers have shut down: stop the PDF renderer process and close the document storage."""
        await self.documents.aclose()


def build_workers(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    providers: Providers | None = None,
    overrides: dict[str, Callable[..., Any]] | None = None,
    queues: str = "all",
) -> Workers:
    """The checkout worker and the documents worker, on the task queues named in ``settings`` (``queues``:
    ``all``, or only ``checkout`` or ``documents``, so each can run on machines of its own).

    PDFs are rendered in a child process (started on first use); call ``close()`` after the workers stop.
    """
    assert settings.signing_key_file is not None
    providers = providers or Providers(settings)
    issuer = KeyedTicketIssuer(KeyRing.load_or_create(settings.signing_key_file))
    orders = OrderActivities(db, issuer, settings.documents_task_queue)
    payments = PaymentActivities(db, providers, settings.public_url, settings.jwt_secret)
    refunds = RefundActivities(db, providers, settings.documents_task_queue)
    inventory = InventoryActivities(db)
    relay = RelayActivities(db, settings.checkout_task_queue)
    gate = GateActivities(db, settings.documents_task_queue)
    # Issue 13, waiting lists: their runs and sweep, and the lists told of seats this worker's activities give back.
    waitlist_runs = WaitlistRuns.from_settings(settings)
    waitlist = WaitlistActivities(db, waitlist_runs)
    waitlist_hints.attach(db, waitlist_hints.Notifier(_returns(client), waitlist_runs))
    events = EventActivities(  # issue 13: edits and cancellations followed to the orders sold
        db,
        issuer,
        checkout_task_queue=settings.checkout_task_queue,
        documents_task_queue=settings.documents_task_queue,
        poll_interval_seconds=settings.payment_poll_interval_seconds,
    )
    documents = DocumentActivities(
        db,
        storage_from_url(settings.resolved_storage_url, settings.s3_endpoint_url),
        Mailer(settings.smtp_url, settings.outbox_dir, settings.mail_from, settings.mail_reply_to),
        # The order status page is signed (issue 10: only the buyer's link shows it), unless BOXOFFICE_ORDER_URL
        # sends buyers elsewhere.
        order_url=settings.order_link
        if settings.order_url
        else functools.partial(checkout_complete_url, settings.public_url, settings.jwt_secret),
        locale=settings.locale,
    )
    labels = RunLabels()  # issue 11: every step of every run named in the UI's timeline
    checkout = Worker(
        client,
        task_queue=settings.checkout_task_queue,
        interceptors=[labels],
        workflows=[
            CheckoutWorkflow,
            RefundWorkflow,
            LatePaymentWorkflow,
            WebhookRelayWorkflow,
            HoldExpiryWorkflow,
            CheckinSweepWorkflow,
            EventCancellationWorkflow,
            EventChangeWorkflow,
            WaitlistWorkflow,
            WaitlistSweepWorkflow,
        ],
        activities=_with_overrides(
            [
                orders.open_order,
                orders.complete_order,
                orders.cancel_order,
                orders.release_order_holds,
                orders.start_fulfillment,
                payments.initiate_payment,
                payments.expire_payment,
                payments.verify_payment,
                refunds.prepare_capture_refund,
                refunds.execute_refund,
                refunds.check_refund,
                inventory.expire_holds,
                relay.relay_webhooks,
                gate.mark_used_tickets,
                gate.notify_voided_tickets,
                events.stop_checkouts,
                events.next_orders,
                events.cancel_orders,
                events.tally_cancellation,
                events.reissue_tickets,
                events.orders_to_tell,
                events.tell_buyers,
                waitlist.advance,
                waitlist.ensure_running,
            ],
            overrides,
        ),
        max_concurrent_activities=100,
        max_concurrent_local_activities=100,
        max_concurrent_workflow_tasks=100,
    )
    docs = Worker(
        client,
        task_queue=settings.documents_task_queue,
        interceptors=[labels],
        workflows=[FulfillmentWorkflow, MessageWorkflow],
        activities=_with_overrides(
            [
                documents.render_ticket_pdf,
                documents.send_message,
                documents.record_message_sent,
                documents.email_tickets,
                documents.mark_fulfilled,
            ],
            overrides,
        ),
        # WeasyPrint is CPU-bound and renders in one child process (DocumentActivities): two (local) activities
        # at a time keep it busy (one renders while the other reads the order, stores the PDF or sends mail).
        max_concurrent_local_activities=2,
    )
    chosen = [w for name, w in (("checkout", checkout), ("documents", docs)) if queues in ("all", name)]
    return Workers(chosen, documents)


def _returns(client: Client) -> Callable[[], Awaitable[Client]]:
    async def get() -> Client:
        return client

    return get


# --- the process --------------------------------------------------------------------------------------------


async def serve(workers: Sequence[Worker], stop: asyncio.Event) -> None:
    """Run ``workers`` until ``stop`` is set, then shut them down gracefully (in-flight tasks finish first)."""
    runs = [asyncio.create_task(w.run()) for w in workers]
    await stop.wait()
    await asyncio.gather(*(w.shutdown() for w in workers))
    await asyncio.gather(*runs, return_exceptions=True)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_worker(settings: Settings, queues: str | None = None) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully. ``TemporalStartupError`` if Temporal is unreachable or
    the namespace is missing; ``MetricsUnavailable`` if a metrics port is taken. ``queues`` (default: the setting)
    picks the task queues served; a documents-only worker leaves the Schedules to the checkout workers."""
    queues = queues or settings.worker_queues
    # Issue 11: the SDK's own worker metrics, this process's boxoffice_* series, and traces when OTEL_* asks.
    tracing = process_tracing("boxoffice-worker")
    runtime = sdk_runtime(settings.metrics_host, settings.sdk_metrics_port) if settings.sdk_metrics_port else None
    client = await connect_checked(
        settings.temporal_address,
        settings.temporal_namespace,
        converter=converter_for(settings.payload_keys),
        interceptors=tracing.interceptors() if tracing else (),
        runtime=runtime,
    )
    if settings.metrics_port:
        serve_worker_metrics(settings.metrics_host, settings.metrics_port)  # a daemon thread, gone with the process
    db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
    if queues != "documents":
        await ensure_schedules(client, settings)
    providers = Providers(settings)
    workers = build_workers(client, db, settings, providers=providers, queues=queues)
    if queues != "checkout":
        workers.documents.start()
    stop = stop_on_signals()
    log.info("worker started", task_queues=[w.task_queue for w in workers], temporal=settings.temporal_address)
    if font_subsetter() != "harfbuzz":
        log.warning(
            "libharfbuzz-subset is not installed: each ticket PDF costs about 15 times the CPU "
            "(Debian: apt-get install libharfbuzz-subset0)"
        )
    await serve(workers, stop)
    log.info("worker stopped")
    await workers.aclose()
    await providers.aclose()
    await db.dispose()
    if tracing is not None:
        tracing.shutdown()  # export the spans still buffered
