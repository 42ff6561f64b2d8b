"""The load of ``bench.checkout``: buyers running checkouts through the API, the no-op ceiling's client, and the
two ways of driving either (one at a time, or looping buyers over a fixed window)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from bench.checkout.figures import CheckoutFailed, Plan, Run, Sample
from bench.checkout.observe import DbObserver, api_observe
from bench.measurement import CpuMeter
from bench.noop_checkout import NOOP_TASK_QUEUE, NoopCheckoutWorkflow
from bench.processes import BENCH_PAYLOAD_KEYS
from bench.seeding import BENCH_ORG
from boxoffice.checkout.contract import SA_CHECKOUT_STATUS, SA_EVENT_ID, SA_ORDER_ID, SA_ORGANIZATION_ID
from boxoffice.temporal import connect, converter_for

#: Runs one checkout as buyer ``i``, end to end.
OneCheckout = Callable[[int], Awaitable[Sample]]
FAILURES = (CheckoutFailed, httpx.HTTPError, TimeoutError)


@dataclass
class Buyer:
    """Everything a simulated buyer needs to run checkouts through the API."""

    http: httpx.AsyncClient
    token: str
    ticket_type_id: str
    quantity: int
    observer: DbObserver | None
    poll_interval: float

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def checkout(self) -> Sample:
        """hold → POST /v1/checkouts → Pay on the sandbox form → tickets issued."""
        h = self.headers
        r = await self.http.post(
            "/v1/holds", json={"ticket_type_id": self.ticket_type_id, "quantity": self.quantity}, headers=h
        )
        if r.status_code != 201:
            raise CheckoutFailed(f"POST /v1/holds: {r.status_code} {r.text[:200]}")
        body = {
            "hold_ids": [r.json()["id"]],
            "provider": "sandbox",
            "buyer": {"email": "bench@example.com", "name": "Bench Buyer"},
        }
        t0 = time.time()
        r = await self.http.post("/v1/checkouts", json=body, headers=h)
        t1 = time.time()
        if r.status_code != 201 or not r.json().get("payment_url"):
            raise CheckoutFailed(f"POST /v1/checkouts: {r.status_code} {r.text[:300]}")
        out = r.json()
        path = httpx.URL(out["payment_url"]).raw_path.decode()
        seen = self.observer.watch(out["order_id"]) if self.observer is not None else None
        t2 = time.time()
        r = await self.http.post(path, data={"action": "pay"})
        t3 = time.time()
        if r.status_code != 303:
            raise CheckoutFailed(f"POST {path}: {r.status_code} {r.text[:200]}")
        if seen is not None:
            tickets_at = await asyncio.wait_for(seen, 60)
        else:
            tickets_at = await asyncio.wait_for(api_observe(self.http, h, out["order_id"], self.poll_interval), 60)
        return Sample(out["order_id"], out["workflow_id"], t0, t1, t2, t3, tickets_at)


@contextlib.asynccontextmanager
async def api_buyers(
    base_url: str, tokens: list[str], ticket_type_id: str, plan: Plan, dsn: str
) -> AsyncIterator[OneCheckout]:
    """A keep-alive httpx client and observer; yields ``one(i)`` running a checkout as buyer ``i``."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        interval = plan.poll_ms / 1000
        observer = None
        if plan.observe == "db":
            observer = await stack.enter_async_context(DbObserver(dsn, interval))
        buyers = [Buyer(http, token, ticket_type_id, plan.quantity, observer, interval) for token in tokens]

        async def one(i: int) -> Sample:
            return await buyers[i % len(buyers)].checkout()

        yield one


@contextlib.asynccontextmanager
async def noop_client(address: str) -> AsyncIterator[OneCheckout]:
    """A Temporal client; yields ``one(i)`` running one no-op checkout-shaped workflow end to end."""
    client = await connect(address, "default", converter=converter_for(BENCH_PAYLOAD_KEYS))

    async def one(_i: int) -> Sample:
        order_id = str(uuid.uuid4())
        wid = f"bench-noop-{order_id}"
        attrs = TypedSearchAttributes(
            [
                SearchAttributePair(SA_ORDER_ID, order_id),
                SearchAttributePair(SA_EVENT_ID, order_id),
                SearchAttributePair(SA_ORGANIZATION_ID, BENCH_ORG),
                SearchAttributePair(SA_CHECKOUT_STATUS, "started"),
            ]
        )
        start = WithStartWorkflowOperation(
            NoopCheckoutWorkflow.run,
            order_id,
            id=wid,
            task_queue=NOOP_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=attrs,
        )
        t0 = time.time()
        # Assigned, not awaited bare: the SDK's stubs type an async update's result as a coroutine.
        _payment_url = await client.execute_update_with_start_workflow(
            NoopCheckoutWorkflow.payment_session, start_workflow_operation=start
        )
        t1 = time.time()
        handle = await start.workflow_handle()
        await handle.signal(NoopCheckoutWorkflow.payment_event, {"event_id": order_id})
        t2 = time.time()
        await handle.result()
        t3 = time.time()
        return Sample(order_id, wid, t0, t1, t1, t2, t3)

    yield one


async def timed_loop(concurrency: int, one: OneCheckout, *, warmup: float, duration: float, meter: CpuMeter) -> Run:
    """``concurrency`` loops of ``one(i)`` until the window closes; CPU metered over the window only."""
    begin = time.time()
    run = Run(window=(begin + warmup, begin + warmup + duration), meter=meter)
    end = run.window[1]

    async def loop(i: int) -> None:
        while time.time() < end:
            try:
                run.samples.append(await one(i))
            except FAILURES as exc:
                run.failed(exc)
                await asyncio.sleep(0.1)

    async def metered() -> None:
        await asyncio.sleep(max(0.0, run.window[0] - time.time()))
        meter.start()
        await asyncio.sleep(max(0.0, end - time.time()))
        meter.stop()

    await asyncio.gather(*(loop(i) for i in range(concurrency)), metered())
    return run


async def sequential(
    n: int,
    one: OneCheckout,
    meter: CpuMeter | None = None,
    settle: Callable[[Sample], Awaitable[None]] | None = None,
) -> Run:
    """``n`` checkouts one after another (concurrency 1); ``settle`` waits for what a checkout left running
    (its fulfilment) before the next one starts, so each is measured on an idle system."""
    run = Run(meter=meter)
    if meter is not None:
        meter.start()
    for i in range(n):
        try:
            sample = await one(i)
            if settle is not None:
                await settle(sample)
            run.samples.append(sample)
        except FAILURES as exc:
            run.failed(exc)
    if meter is not None:
        meter.stop()
    return run
