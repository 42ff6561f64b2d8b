"""The worker processes ``bench.checkout`` starts besides ``boxoffice worker`` itself: the same code (the same
``build_workers``, settings, schedules and run loop) with another process layout, and activity times logged."""

from __future__ import annotations

import json
import os
import time
from typing import IO, Any

from temporalio import activity
from temporalio.client import Client, Interceptor
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput
from temporalio.worker import Interceptor as WorkerInterceptor

from boxoffice.config import settings_or_exit
from boxoffice.db import Database
from boxoffice.logging import configure_logging
from boxoffice.payments.providers import Providers
from boxoffice.schedules import ensure_schedules
from boxoffice.temporal import converter_for
from boxoffice.worker import build_workers, serve, stop_on_signals

#: Where a bench worker appends one JSON line per activity run (unset: nothing is logged).
ACTIVITY_LOG_ENV = "BENCH_ACTIVITY_LOG"


class ActivityTimer(Interceptor, WorkerInterceptor):
    """Appends ``{wf, type, local, start, end}`` per activity run to a file (bench workers only)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the worker process

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimedActivity(next, self.file)


class _TimedActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, file: IO[str]) -> None:
        super().__init__(next)
        self.file = file

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        t0 = time.time()
        try:
            return await self.next.execute_activity(input)
        finally:
            info = activity.info()
            rec = {"wf": info.workflow_id, "type": info.activity_type, "local": info.is_local, "start": t0}
            self.file.write(json.dumps({**rec, "end": time.time()}) + "\n")


async def bench_worker_main(which: str) -> None:
    """``boxoffice worker``'s code with a different process layout: ``checkout`` runs only the checkout worker
    (``--fulfilment off``; ``split``'s first process), ``documents`` only the documents worker (``split``'s
    second process). Runs until SIGINT/SIGTERM; activity times go to ``$BENCH_ACTIVITY_LOG`` when set."""
    settings = settings_or_exit()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    log = os.environ.get(ACTIVITY_LOG_ENV)
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=converter_for(settings.payload_keys),
        interceptors=[ActivityTimer(log)] if log else [],
    )
    db = Database(settings.resolved_database_url)
    if which == "checkout":
        await ensure_schedules(client, settings)
    providers = Providers(settings)
    workers = build_workers(client, db, settings, providers=providers)
    await serve([workers[0 if which == "checkout" else 1]], stop_on_signals())
    workers.close()
    await providers.aclose()
    await db.dispose()
