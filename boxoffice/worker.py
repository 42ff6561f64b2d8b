"""The worker process: the checkout and documents task queues, and the Schedules operators see."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from boxoffice.activities.documents import DocumentActivities
from boxoffice.activities.inventory import InventoryActivities
from boxoffice.activities.orders import OrderActivities
from boxoffice.activities.payments import PaymentActivities
from boxoffice.activities.relay import RelayActivities
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.logging import get_logger
from boxoffice.mail import Mailer
from boxoffice.providers import Providers
from boxoffice.starter import ensure_schedules
from boxoffice.storage import storage_from_url
from boxoffice.temporal import connect
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keys import load_or_create
from boxoffice.ticketing.pdf import font_subsetter
from boxoffice.workflows.checkout import CheckoutWorkflow
from boxoffice.workflows.fulfillment import FulfillmentWorkflow
from boxoffice.workflows.holds import HoldExpiryWorkflow
from boxoffice.workflows.late_payment import LatePaymentWorkflow
from boxoffice.workflows.refund import RefundWorkflow
from boxoffice.workflows.relay import WebhookRelayWorkflow

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


def build_workers(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    providers: Providers | None = None,
    overrides: dict[str, Callable[..., Any]] | None = None,
) -> Workers:
    """The checkout worker and the documents worker, on the task queues named in ``settings``.

    PDFs are rendered in a child process (started on first use); call ``close()`` after the workers stop.
    """
    assert settings.signing_key_file is not None
    providers = providers or Providers(settings)
    issuer = KeyedTicketIssuer(load_or_create(settings.signing_key_file))
    inventory = InventoryActivities(db)
    orders = OrderActivities(db, issuer, settings.documents_task_queue)
    payments = PaymentActivities(db, providers, settings.public_url)
    relay = RelayActivities(db, settings.checkout_task_queue)
    documents = DocumentActivities(
        db,
        storage_from_url(settings.resolved_storage_url, settings.s3_endpoint_url),
        Mailer(settings.smtp_url, settings.outbox_dir),
    )
    checkout = Worker(
        client,
        task_queue=settings.checkout_task_queue,
        workflows=[CheckoutWorkflow, HoldExpiryWorkflow, LatePaymentWorkflow, RefundWorkflow, WebhookRelayWorkflow],
        activities=_with_overrides(
            [
                inventory.release_order_holds,
                inventory.expire_holds,
                orders.open_order,
                orders.complete_order,
                orders.cancel_order,
                orders.start_fulfillment,
                payments.initiate_payment,
                payments.expire_payment,
                payments.verify_payment,
                payments.prepare_refund_of_capture,
                payments.execute_refund,
                payments.check_refund,
                relay.relay_webhooks,
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
        workflows=[FulfillmentWorkflow],
        activities=_with_overrides(
            [documents.render_ticket_pdf, documents.email_tickets, documents.mark_fulfilled], overrides
        ),
        # WeasyPrint is CPU-bound and renders in one child process (DocumentActivities): two (local) activities
        # at a time keep it busy (one renders while the other reads the order, stores the PDF or sends mail).
        max_concurrent_local_activities=2,
    )
    return Workers([checkout, docs], documents)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    db = Database(settings.resolved_database_url)
    await ensure_schedules(client, settings)
    providers = Providers(settings)
    workers = build_workers(client, db, settings, providers=providers)
    workers.documents.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", task_queues=[w.task_queue for w in workers], temporal=settings.temporal_address)
    if font_subsetter() != "harfbuzz":
        log.warning(
            "libharfbuzz-subset is not installed: each ticket PDF costs about 15 times the CPU "
            "(Debian: apt-get install libharfbuzz-subset0)"
        )
    runs = [asyncio.create_task(w.run()) for w in workers]
    await stop.wait()
    log.info("worker stopping")
    await asyncio.gather(*(w.shutdown() for w in workers))
    await asyncio.gather(*runs, return_exceptions=True)
    workers.close()
    await providers.aclose()
    await db.dispose()
