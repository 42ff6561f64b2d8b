"""The faults, at set moments of the sale: the worker SIGKILLed (and started again, as a supervisor would, after a
pause), and the Temporal server stopped and started again on its own state. A watchdog restarts a worker that dies
of its own accord, and says so: that would be a finding."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from bench.onsale.stack import TemporalDev, Worker

KILL_WORKER, RESTART_TEMPORAL = "SIGKILL worker", "restart Temporal"


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the sale opened
    what: str
    down: float  # seconds until the process served again


async def inject(
    schedule: list[tuple[float, str]],
    opened: float,
    worker: Worker,
    temporal: TemporalDev,
    busy: asyncio.Lock,
    *,
    pause: float,
) -> list[Fault]:
    """Do each fault of ``schedule`` ((seconds after ``opened``, what)) in order; each ends when the process is
    ready again. The worker is started again ``pause`` seconds after its kill. ``busy`` keeps the watchdog out
    meanwhile (a killed worker is not a worker that died, and none can start while Temporal is down)."""
    done = []
    for at, what in sorted(schedule):
        await asyncio.sleep(max(0.0, opened + at - time.time()))
        async with busy:
            t0 = time.time()
            if what == KILL_WORKER:
                await asyncio.to_thread(worker.sigkill)
                await asyncio.sleep(pause)
                await asyncio.to_thread(worker.start)
            else:
                await asyncio.to_thread(temporal.stop)
                await asyncio.to_thread(temporal.start)
            done.append(Fault(t0 - opened, what, time.time() - t0))
    return done


async def watchdog(worker: Worker, busy: asyncio.Lock, stop: asyncio.Event, opened: float) -> list[Fault]:
    """Until ``stop``: restart the worker if it exited although nobody killed it; each such restart is returned."""
    unplanned = []
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        async with busy:
            proc = worker.current.proc if worker.current is not None else None
            if proc is not None and proc.poll() is not None and not stop.is_set():
                t0 = time.time()
                with contextlib.suppress(RuntimeError, TimeoutError):  # not ready: looked at again next second
                    await asyncio.to_thread(worker.start)
                unplanned.append(Fault(t0 - opened, f"worker exited by itself ({proc.returncode})", time.time() - t0))
    return unplanned
