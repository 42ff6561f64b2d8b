"""The worker process: workflows and activities of the checkout task queue, and the hold-expiry Schedule."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from boxoffice.activities.inventory import InventoryActivities
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.logging import get_logger
from boxoffice.starter import ensure_hold_expiry_schedule
from boxoffice.temporal import connect
from boxoffice.workflows.holds import HoldExpiryWorkflow

log = get_logger(__name__)


def workflows() -> Sequence[type]:
    return [HoldExpiryWorkflow]


def activities(db: Database, settings: Settings) -> Sequence[Any]:
    inventory = InventoryActivities(db)
    return [inventory.expire_holds]


def build_worker(client: Client, db: Database, settings: Settings, *, task_queue: str | None = None) -> Worker:
    """A worker for the checkout task queue (tests pass a unique ``task_queue``)."""
    return Worker(
        client,
        task_queue=task_queue or settings.checkout_task_queue,
        workflows=workflows(),
        activities=activities(db, settings),
        max_concurrent_activities=50,
        max_concurrent_local_activities=50,
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    db = Database(settings.resolved_database_url)
    await ensure_hold_expiry_schedule(
        client, task_queue=settings.checkout_task_queue, every_seconds=settings.hold_sweep_interval_seconds
    )
    worker = build_worker(client, db, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", task_queue=settings.checkout_task_queue, temporal=settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    await db.dispose()
