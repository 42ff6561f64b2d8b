"""A Boxoffice worker as its own OS process, for tests that SIGKILL it (``tests/test_worker_crash.py``): the
process itself (``main``, ``run``) and the test's handle on it (``WorkerProcess``, ``worker_env``).

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
import subprocess
import sys
import time
import traceback
from pathlib import Path

from temporalio.client import Client

from boxoffice.config import Settings, build_settings
from boxoffice.db import Database
from boxoffice.temporal import converter_for
from boxoffice.worker import build_workers

ROOT = Path(__file__).resolve().parent.parent

# --- the process -------------------------------------------------------------------------------------------


async def main() -> None:
    settings = build_settings()
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=converter_for(settings.payload_keys),
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


# --- the test's side ---------------------------------------------------------------------------------------


class WorkerProcess:
    """``python -m tests.crash_worker`` with the test's settings in its environment; output in a log file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.env, self.name = env, name
        self.log = log_dir / f"{name}.log"
        self.ready = log_dir / f"{name}.ready"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def identity(self) -> str:
        return f"crash-{self.name}"

    async def start(self) -> None:
        env = {**self.env, "CRASH_WORKER_IDENTITY": self.identity, "CRASH_WORKER_READY_FILE": str(self.ready)}
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.crash_worker", cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            assert self.proc.returncode is None, f"{self.name} exited with {self.proc.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"{self.name} did not start:\n{self.output()}"
            await asyncio.sleep(0.05)

    async def sigkill(self) -> None:
        assert self.proc is not None
        assert self.proc.returncode is None, f"{self.name} died before the kill:\n{self.output()}"
        os.kill(self.proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(self.proc.wait(), 10) == -signal.SIGKILL

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def worker_env(settings: Settings, temporal_address: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(
        {
            "BOXOFFICE_ENV": "test",
            "BOXOFFICE_DATA_DIR": str(settings.data_dir),
            "BOXOFFICE_DATABASE_URL": settings.database_url,
            "BOXOFFICE_TEMPORAL_ADDRESS": temporal_address,
            "BOXOFFICE_CHECKOUT_TASK_QUEUE": settings.checkout_task_queue,
            "BOXOFFICE_DOCUMENTS_TASK_QUEUE": settings.documents_task_queue,
            "BOXOFFICE_JWT_SECRET": settings.jwt_secret,
            "BOXOFFICE_SANDBOX_WEBHOOK_SECRET": settings.sandbox_webhook_secret,
            "BOXOFFICE_PAYLOAD_KEYS": settings.payload_keys,
            "BOXOFFICE_PUBLIC_URL": settings.public_url,
            "BOXOFFICE_PAYMENT_WINDOW_SECONDS": str(settings.payment_window_seconds),
            "BOXOFFICE_PAYMENT_POLL_INTERVAL_SECONDS": str(settings.payment_poll_interval_seconds),
            "BOXOFFICE_LATE_PAYMENT_GRACE_SECONDS": "0",
            "BOXOFFICE_LOG_LEVEL": "WARNING",
        }
    )
    return env


if __name__ == "__main__":
    run()
