"""The load generator of ``bench.holds``: looping buyers posting holds through the API, from one or several
client processes, with the rate and latencies counted in a fixed window and CPU metered over it."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import httpx

from bench.holds.client import Answers, HoldRequests, run_async
from bench.measurement import CpuMeter, PidSource, this_process


@dataclass
class LoadResult(Answers):
    """Every request's answer, and the 201s and latencies inside the measured window."""

    window_created: int = 0
    window_latencies: list[float] = field(default_factory=list)
    window_seconds: float = 0.0

    def merge(self, other: Answers) -> None:
        super().merge(other)
        if isinstance(other, LoadResult):
            self.window_created += other.window_created
            self.window_latencies.extend(other.window_latencies)
            self.window_seconds = max(self.window_seconds, other.window_seconds)

    @property
    def rate(self) -> float:
        return self.window_created / self.window_seconds if self.window_seconds else 0.0


@dataclass(frozen=True)
class LoadShape:
    """How the buyers behave: how many connections, which client, and how often they reconnect."""

    concurrency: int
    client_kind: str = "raw"
    reconnect_every: int = 0


async def _load(
    base_url: str, tokens: list[str], ticket_type_id: str, shape: LoadShape, start: float, end: float
) -> LoadResult:
    """``shape.concurrency`` looping buyers until wall time ``end``; only ``[start, end]`` counts for rate/latency."""
    result = LoadResult(window_seconds=end - start)
    holds = HoldRequests.of(base_url, ticket_type_id)
    limits = httpx.Limits(max_connections=shape.concurrency, max_keepalive_connections=shape.concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:

        async def buyer(i: int) -> None:
            token = tokens[i % len(tokens)]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            raw = holds.encoded(token)
            conn = holds.connection()
            sent = 0
            try:
                while time.time() < end:
                    sent += 1
                    if shape.reconnect_every and sent % shape.reconnect_every == 0:
                        # Keep-alive connections opened at once mostly land on one uvicorn worker; reopening
                        # now and then lets the kernel hand them to whichever worker is free to accept.
                        await conn.close()
                    t0 = time.time()
                    try:
                        if shape.client_kind == "raw":
                            status, content = await asyncio.wait_for(conn.request(raw), 30.0)
                        else:
                            r = await client.post("/v1/holds", content=holds.body, headers=headers)
                            status, content = r.status_code, r.content
                    except (httpx.HTTPError, OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                        result.failed(exc)
                        await conn.close()
                        continue
                    t1 = time.time()
                    result.record(status, content)
                    if status == 201 and start <= t1 <= end:
                        result.window_created += 1
                    if t0 >= start and t1 <= end:
                        result.window_latencies.append(t1 - t0)
            finally:
                await conn.close()

        await asyncio.gather(*(buyer(i) for i in range(shape.concurrency)))
    return result


def _load_process(
    base_url: str, tokens: list[str], ticket_type_id: str, shape: LoadShape, start: float, end: float
) -> LoadResult:
    """One client process's share of the load (uvloop when available, as the API itself uses)."""
    return run_async(_load(base_url, tokens, ticket_type_id, shape, start, end))


def run_load(
    base_url: str,
    tokens: list[str],
    ticket_type_id: uuid.UUID,
    shape: LoadShape,
    *,
    client_procs: int,
    warmup: float,
    duration: float,
    metered: dict[str, PidSource],
) -> tuple[LoadResult, CpuMeter]:
    """Drive the API from ``client_procs`` processes sharing ``shape.concurrency`` connections; meter the CPU of
    the clients and of the ``metered`` groups over the window."""
    begin = time.time() + (1.5 if client_procs > 1 else 0.2)  # spawned clients need a moment to import
    start, end = begin + warmup, begin + warmup + duration
    total = LoadResult()

    async def meter_window(meter: CpuMeter) -> None:
        await asyncio.sleep(max(0.0, start - time.time()))
        meter.start()
        await asyncio.sleep(max(0.0, end - time.time()))
        meter.stop()

    if client_procs == 1:
        meter = CpuMeter({"client": this_process, **metered})

        async def both() -> LoadResult:
            load = _load(base_url, tokens, str(ticket_type_id), shape, start, end)
            return (await asyncio.gather(load, meter_window(meter)))[0]

        total.merge(run_async(both()))
        return total, meter
    n = shape.concurrency
    shares = [n // client_procs + (1 if i < n % client_procs else 0) for i in range(client_procs)]
    with ProcessPoolExecutor(max_workers=client_procs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(
                _load_process,
                base_url,
                tokens[i::client_procs],
                str(ticket_type_id),
                LoadShape(share, shape.client_kind, shape.reconnect_every),
                start,
                end,
            )
            for i, share in enumerate(shares)
        ]
        # The pool's own processes (a private attribute: the executor does not publish its pids otherwise).
        meter = CpuMeter({"client": lambda: list(pool._processes or {}), **metered})
        run_async(meter_window(meter))
        for f in futures:
            total.merge(f.result())
    return total, meter
