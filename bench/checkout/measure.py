"""The phases of ``bench.checkout`` for one worker layout (or the no-op ceiling): warm-up, low-load latency one
checkout at a time, throughput at each concurrency, and the breakdown of the low-load checkouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bench.checkout.breakdown import activity_rows, timelines
from bench.checkout.buyers import OneCheckout, api_buyers, noop_client, sequential, timed_loop
from bench.checkout.figures import ModeResult, Plan, Run, Sample
from bench.checkout.observe import wait_fulfilled
from bench.checkout.stack import Stack, WorkerProcesses, meter_for
from bench.measurement import CpuMeter
from bench.processes import BENCH_PAYLOAD_KEYS, Process, TemporalServer
from boxoffice.temporal import connect, converter_for


async def _throughput(plan: Plan, one: OneCheckout, new_meter: Callable[[], CpuMeter], who: str) -> dict[int, Run]:
    """A throughput window at each of the plan's concurrencies, with a fresh CPU meter for each."""
    out = {}
    for c in plan.concurrency:
        print(f"  throughput: {c} {who}, {plan.warmup:g}s warm-up + {plan.duration:g}s …", flush=True)
        out[c] = await timed_loop(c, one, warmup=plan.warmup, duration=plan.duration, meter=new_meter())
    return out


async def measure_real(
    label: str,
    stack: Stack,
    worker: WorkerProcesses,
    ticket_type_id: str,
    tokens: list[str],
    plan: Plan,
    *,
    fulfils: bool,
) -> ModeResult:
    """Warm-up, low-load latency, then throughput at each concurrency, through the API and this worker.

    At low load one checkout is in the system at a time: the next starts once the previous checkout run has
    closed (its last step starts the fulfilment run, after the tickets are issued) and, with fulfilment running
    (``fulfils``), once its order is fulfilled, which also measures the time from tickets to e-mail. The no-op
    ceiling's client likewise awaits each run's result."""
    temporal = await connect(stack.temporal.address, "default", converter=converter_for(BENCH_PAYLOAD_KEYS))

    async def settle(sample: Sample) -> None:
        await asyncio.wait_for(temporal.get_workflow_handle(sample.workflow_id).result(), 60)
        if fulfils:
            await wait_fulfilled(stack.db.dsn, sample)

    async with api_buyers(stack.api.base_url, tokens, ticket_type_id, plan, stack.db.dsn) as one:
        warm = await sequential(plan.warmup_checkouts, one, settle=settle)
        if warm.errors:
            raise RuntimeError(f"warm-up checkouts failed: {dict(warm.errors)}\n{worker.log_tail()}")
        print(f"  latency: {plan.checkouts} checkouts, one at a time …", flush=True)

        def new_meter() -> CpuMeter:
            return meter_for(stack.temporal, worker.pids, stack.api.pids)

        latency = await sequential(plan.checkouts, one, new_meter(), settle)
        throughput = await _throughput(plan, one, new_meter, "buyers")
    tls = await timelines(stack.temporal.address, latency.samples)
    acts = activity_rows(worker.activity_log, latency.samples) if worker.activity_log else []
    return ModeResult(label, latency, throughput, tls, acts)


async def measure_noop(temporal: TemporalServer, worker: Process, plan: Plan) -> ModeResult:
    """The same phases for the no-op checkout-shaped workflow, driven straight through a Temporal client."""
    async with noop_client(temporal.address) as one:
        await sequential(plan.warmup_checkouts, one)
        latency = await sequential(plan.checkouts, one)
        throughput = await _throughput(plan, one, lambda: meter_for(temporal, worker.pids), "clients")
    return ModeResult("no-op ceiling", latency, throughput, await timelines(temporal.address, latency.samples))
