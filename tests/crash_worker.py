"""A Boxoffice worker as its own OS process, for tests that SIGKILL it (``tests/test_worker_crash.py``).

Run as ``python -m tests.crash_worker`` from the repository root. Configuration comes from the ``BOXOFFICE_*``
environment (``build_settings``), plus:

- ``CRASH_WORKER_IDENTITY``: the Temporal identity of this worker (recorded in the histories it writes);
- ``CRASH_WORKER_READY_FILE``: written (with the pid) once both workers are built and polling starts.

It runs ``build_workers`` (the checkout and documents workers, real activities) until it is killed. It always
leaves through ``os._exit``: the Temporal bridge can abort a finalising interpreter (sdk-python #300).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import traceback
from pathlib import Path

from temporalio.client import Client

from boxoffice.config import build_settings
from boxoffice.db import Database
from boxoffice.temporal import DATA_CONVERTER
from boxoffice.worker import build_workers


async def main() -> None:
    settings = build_settings()
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        identity=os.environ.get("CRASH_WORKER_IDENTITY") or f"crash-worker-{os.getpid()}",
    )
    db = Database(settings.resolved_database_url)
    workers = build_workers(client, db, settings)
    runs = [asyncio.create_task(w.run()) for w in workers]
    ready = os.environ.get("CRASH_WORKER_READY_FILE")
    if ready:
        await asyncio.to_thread(Path(ready).write_text, str(os.getpid()))
    print(f"crash worker {os.getpid()} polling {[w.task_queue for w in workers]}", flush=True)
    # Runs until killed; a worker that stops on its own is an error the test sees (the process exits 1).
    done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()
    raise RuntimeError("a worker stopped on its own")


def run() -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    status = 0
    try:
        asyncio.run(main())
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


if __name__ == "__main__":
    run()
