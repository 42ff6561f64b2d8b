"""End-to-end checkouts per second and latency on PostgreSQL, beside a no-op workflow of the same Temporal shape.

Run: ``.venv/bin/python -m bench.checkout`` (``--help`` for options). In one run it

1. creates a throwaway database (``boxoffice_bench_<pid>``), migrates it and seeds an event with a fixed-price
   ticket type of practically unlimited capacity; starts a fresh headless Temporal dev server (own state file,
   free ports, the four Boxoffice search attributes) and ``boxoffice api`` (``BOXOFFICE_PUBLIC_URL`` = its own
   URL, so the sandbox provider's API calls and webhooks go through it as they would in production);
2. measures the ceiling: ``BenchNoopCheckout``, a workflow of the checkout's Temporal shape (same start with
   search attributes, three local activities before an update-with-start returns, the same search-attribute
   upserts, a signal, a timer-guarded wait, three local activities after) whose activities do nothing, run
   by a worker subprocess on its own task queue, driven at the same client concurrency: workflows/s;
3. for each fulfilment mode (``on``: ``boxoffice worker`` exactly as deployed, so the FulfillmentWorkflow's
   WeasyPrint PDF and e-mail run on the same cores; ``off``: the same code's checkout worker alone, started
   through ``boxoffice.worker.build_workers``: the checkout still completes, its fulfilment run just waits
   on the documents queue), with the worker as a subprocess:

   * low-load latency, one buyer at a time: a hold (not timed); ``POST /v1/checkouts`` until the 201 with
     its ``payment_url`` (latency A); then Pay on the sandbox's hosted form (``POST /sandbox/pay/{ref}``,
     which posts the signed webhook to ``/v1/webhooks/sandbox``) until the order is seen ``paid`` with its
     tickets (latency B, "webhook → tickets issued"), observed by polling the database every few ms
     (``--observe api`` polls ``GET /v1/orders/{id}`` instead);
   * throughput: ``--concurrency`` buyers each looping hold → checkout → pay → tickets issued, counting
     orders whose tickets were issued inside a fixed window after a warm-up;
   * a per-step breakdown of latencies A and B from the workflows' histories (API side, matching dispatch,
     workflow task with its local activities, update/signal return path);

4. prints every figure beside its ceiling or target with PASS/MISS and the CPU each process group used, then
   stops every process and drops the database, also on failure.

The exit status is non-zero only when a checkout fails (an error status, or tickets never issued); missed
targets print MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Interceptor
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput
from temporalio.worker import Interceptor as WorkerInterceptor

with workflow.unsafe.imports_passed_through():
    import httpx
    import psycopg

    from bench.common import (
        BENCH_ORG,
        CpuMeter,
        Process,
        TemporalServer,
        ThrowawayDb,
        buyer_tokens,
        free_port,
        latency_ms,
        new_secret,
        pids_named,
        print_table,
        run_api,
        run_process,
        run_temporal_dev_server,
        seed_event,
        server_setting,
        throwaway_database,
    )
    from bench.noop_checkout import NOOP_TASK_QUEUE, NoopCheckoutWorkflow, noop_worker_main

ORG = BENCH_ORG
LAYOUTS = {
    "on": "`boxoffice worker` (checkout + documents workers in one process)",
    "off": "the checkout worker alone (no documents worker)",
    "split": "checkout and documents workers in two processes",
}
TARGET_RATIO = 0.70
TARGET_CHECKOUT_P50_MS = 100.0
TARGET_TICKETS_P50_MS = 200.0
PRICE_CENTS = 15_000
PAID = ("paid", "fulfilled")
FAILED = ("cancelled", "refunded")
SEARCH_ATTRIBUTE_NAMES = (
    "BoxofficeOrderId",
    "BoxofficeEventId",
    "BoxofficeOrganizationId",
    "BoxofficeCheckoutStatus",
)


class ActivityTimer(Interceptor, WorkerInterceptor):
    """Appends ``{wf, type, local, start, end}`` per activity run to ``$BENCH_ACTIVITY_LOG`` (bench workers only)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the worker process

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimedActivity(next, self.file)


class _TimedActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, file: Any) -> None:
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
    second process). Same ``build_workers``, settings and schedules; activity times go to
    ``$BENCH_ACTIVITY_LOG`` when set."""
    import signal

    from temporalio.client import Client

    from boxoffice.config import settings_or_exit
    from boxoffice.db import Database
    from boxoffice.logging import configure_logging
    from boxoffice.payments.providers import Providers
    from boxoffice.temporal import DATA_CONVERTER
    from boxoffice.worker import build_workers, ensure_schedules

    settings = settings_or_exit()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    log = os.environ.get("BENCH_ACTIVITY_LOG")
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        interceptors=[ActivityTimer(log)] if log else [],
    )
    db = Database(settings.resolved_database_url)
    if which == "checkout":
        await ensure_schedules(client, settings)
    providers = Providers(settings)
    worker = build_workers(client, db, settings, providers=providers)[0 if which == "checkout" else 1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    run = asyncio.create_task(worker.run())
    await stop.wait()
    await worker.shutdown()
    await asyncio.gather(run, return_exceptions=True)
    await providers.aclose()
    await db.dispose()


# Setup -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    event_id: uuid.UUID
    ticket_type_id: uuid.UUID


async def seed(url: str) -> Catalogue:
    """The bench organisation's event with one fixed-price ticket type that never sells out."""
    from boxoffice.catalogue.rules import PricingModel, TicketTypeInput

    general = TicketTypeInput(
        name="General",
        capacity=1_000_000_000,
        pricing_model=PricingModel.FIXED,
        base_price_cents=PRICE_CENTS,
        max_per_order=10,
    )
    event_id, (tt_id,) = await seed_event(url, [general])
    return Catalogue(event_id=event_id, ticket_type_id=tt_id)


# Observing "tickets issued" ----------------------------------------------------------------------------


class CheckoutFailed(Exception):
    """A checkout did not end with tickets (an HTTP error, a cancelled order, or a timeout)."""


class DbObserver:
    """One poller for every order in flight: ``SELECT … WHERE id = ANY(…)`` every ``interval`` seconds.

    It stamps the wall-clock time it first sees an order ``paid`` (or already ``fulfilled``); the order's
    tickets are issued in the same database transaction that sets ``paid``. Costs the API nothing.
    """

    def __init__(self, dsn: str, interval: float) -> None:
        self.dsn, self.interval = dsn, interval
        self.waiting: dict[uuid.UUID, asyncio.Future[float]] = {}
        self.polls = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DbObserver:
        self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._conn.close()

    def watch(self, order_id: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[uuid.UUID(order_id)] = fut
        return fut

    async def _run(self) -> None:
        while True:
            if self.waiting:
                ids = list(self.waiting)
                cur = await self._conn.execute(
                    "SELECT id, status FROM orders WHERE id = ANY(%s) AND status <> 'pending'", (ids,)
                )
                rows = await cur.fetchall()
                now = time.time()
                self.polls += 1
                for oid, status in rows:
                    fut = self.waiting.pop(oid, None)
                    if fut is None or fut.done():
                        continue
                    if status in PAID:
                        fut.set_result(now)
                    else:
                        fut.set_exception(CheckoutFailed(f"order {oid} is {status}"))
            await asyncio.sleep(self.interval)


async def api_observe(http: httpx.AsyncClient, headers: dict[str, str], order_id: str, interval: float) -> float:
    """Poll ``GET /v1/orders/{id}`` until it shows the order paid with tickets; the wall time it first did."""
    while True:
        r = await http.get(f"/v1/orders/{order_id}", headers=headers)
        if r.status_code != 200:
            raise CheckoutFailed(f"GET /v1/orders/{order_id}: {r.status_code} {r.text[:200]}")
        order = r.json()
        if order["status"] in PAID and order["tickets"]:
            return time.time()
        if order["status"] in FAILED:
            raise CheckoutFailed(f"order {order_id} is {order['status']}")
        await asyncio.sleep(interval)


# Driving checkouts -------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One checkout as the buyer saw it (wall-clock seconds, comparable with Temporal's event times)."""

    order_id: str
    workflow_id: str
    checkout_start: float
    checkout_end: float
    pay_start: float
    pay_end: float
    tickets_at: float
    fulfilled_at: float | None = None  # low-load runs with fulfilment: when the order was seen ``fulfilled``

    @property
    def checkout_s(self) -> float:
        return self.checkout_end - self.checkout_start

    @property
    def tickets_s(self) -> float:
        return self.tickets_at - self.pay_start


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
        path = httpx.URL(out["payment_url"]).path
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


@dataclass
class Run:
    """Samples of one phase, and (for a throughput phase) the window the rate is counted in."""

    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    window: tuple[float, float] = (0.0, 0.0)
    meter: CpuMeter | None = None

    def in_window(self) -> list[Sample]:
        lo, hi = self.window
        return [s for s in self.samples if lo <= s.tickets_at <= hi]

    @property
    def rate(self) -> float:
        lo, hi = self.window
        return len(self.in_window()) / (hi - lo) if hi > lo else 0.0


async def timed_loop(
    concurrency: int,
    one: Callable[[int], Awaitable[Sample]],
    *,
    warmup: float,
    duration: float,
    meter: CpuMeter,
) -> Run:
    """``concurrency`` loops of ``one(i)`` until the window closes; CPU metered over the window only."""
    begin = time.time()
    run = Run(window=(begin + warmup, begin + warmup + duration), meter=meter)
    end = run.window[1]

    async def loop(i: int) -> None:
        while time.time() < end:
            try:
                run.samples.append(await one(i))
            except (CheckoutFailed, httpx.HTTPError, TimeoutError) as exc:
                run.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
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
    one: Callable[[int], Awaitable[Sample]],
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
        except (CheckoutFailed, httpx.HTTPError, TimeoutError) as exc:
            run.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
    if meter is not None:
        meter.stop()
    return run


@contextlib.asynccontextmanager
async def api_buyers(base_url: str, tokens: list[str], cat: Catalogue, args: argparse.Namespace, dsn: str) -> Any:
    """A keep-alive httpx client and observer; yields ``one(i)`` running a checkout as buyer ``i``."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        observer = None
        if args.observe == "db":
            observer = await stack.enter_async_context(DbObserver(dsn, args.poll_ms / 1000))
        buyers = [
            Buyer(http, tokens[i], str(cat.ticket_type_id), args.quantity, observer, args.poll_ms / 1000)
            for i in range(len(tokens))
        ]

        async def one(i: int) -> Sample:
            return await buyers[i % len(buyers)].checkout()

        yield one


@contextlib.asynccontextmanager
async def noop_client(address: str) -> Any:
    """A Temporal client; yields ``one(i)`` running one no-op checkout-shaped workflow end to end."""
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import (
        SearchAttributeKey,
        SearchAttributePair,
        TypedSearchAttributes,
        WorkflowIDConflictPolicy,
        WorkflowIDReusePolicy,
    )

    from boxoffice.temporal import connect

    client = await connect(address, "default")

    async def one(_i: int) -> Sample:
        order_id = str(uuid.uuid4())
        wid = f"bench-noop-{order_id}"
        attrs = TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword("BoxofficeOrderId"), order_id),
                SearchAttributePair(SearchAttributeKey.for_keyword("BoxofficeEventId"), order_id),
                SearchAttributePair(SearchAttributeKey.for_keyword("BoxofficeOrganizationId"), ORG),
                SearchAttributePair(SearchAttributeKey.for_keyword("BoxofficeCheckoutStatus"), "started"),
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
        _url = await client.execute_update_with_start_workflow(  # the SDK's stubs type it as a coroutine
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


# Where the time goes (from the workflows' histories) ---------------------------------------------------


BREAKDOWN_A = [
    ("API: auth, precheck queries, start RPC", "checkout_start", "started"),
    ("matching: first workflow task dispatched", "started", "wft1_started"),
    ("worker: open_order + initiate LAs, task done", "wft1_started", "wft1_completed"),
    ("update result back to the buyer", "wft1_completed", "checkout_end"),
]
BREAKDOWN_B = [
    ("sandbox decide + webhook record + signal RPC", "pay_start", "signaled"),
    ("matching: workflow task after the signal", "signaled", "wft2_started"),
    ("worker: verify + complete LAs (tickets)", "wft2_started", "tickets_at"),
    ("(Pay form POST answered, from its start)", "pay_start", "pay_end"),
]


async def timelines(address: str, samples: Sequence[Sample]) -> list[dict[str, float]]:
    """For each sample: its buyer-side stamps plus the server's event times of its workflow."""
    from temporalio.api.enums.v1 import EventType

    from boxoffice.temporal import connect

    client = await connect(address, "default")
    out = []
    for s in samples:
        t: dict[str, float] = {
            "checkout_start": s.checkout_start,
            "checkout_end": s.checkout_end,
            "pay_start": s.pay_start,
            "pay_end": s.pay_end,
            "tickets_at": s.tickets_at,
        }
        wfts_started: list[float] = []
        wfts_completed: list[float] = []
        async for ev in client.get_workflow_handle(s.workflow_id).fetch_history_events():
            at = ev.event_time.seconds + ev.event_time.nanos / 1e9
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                t["started"] = at
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                wfts_started.append(at)
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                wfts_completed.append(at)
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED and "signaled" not in t:
                t["signaled"] = at
        if wfts_started and wfts_completed:
            t["wft1_started"], t["wft1_completed"] = wfts_started[0], wfts_completed[0]
        later = [w for w in wfts_started if w >= t.get("signaled", float("inf"))]
        if later:
            t["wft2_started"] = later[0]
        out.append(t)
    return out


def breakdown_rows(tls: list[dict[str, float]]) -> list[list[object]]:
    rows: list[list[object]] = []
    for title, steps in (("A: POST /v1/checkouts → payment_url", BREAKDOWN_A), ("B: Pay → tickets", BREAKDOWN_B)):
        rows.append([title, "", ""])
        for label, a, b in steps:
            d = [(t[b] - t[a]) * 1000 for t in tls if a in t and b in t]
            rows.append(["  " + label, statistics.median(d) if d else float("nan"), len(d)])
    return rows


# The stack ---------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """Everything a run starts: where it lives and how to reach it."""

    tmp: Path
    db: ThrowawayDb
    temporal: TemporalServer
    api_url: str
    api_pids: Callable[[], list[int]]
    env: dict[str, str]


@dataclass
class Workers:
    """The worker process(es) of one fulfilment mode."""

    processes: list[Process]
    activity_log: Path | None

    def pids(self) -> list[int]:
        return [pid for p in self.processes for pid in p.pids()]

    def log_tail(self) -> str:
        return "\n".join(p.log_tail() for p in self.processes)


@contextlib.contextmanager
def boxoffice_workers(stack: Stack, mode: str, extra_env: dict[str, str]) -> Iterator[Workers]:
    """``on``: ``boxoffice worker`` as deployed; ``off``: its checkout worker alone; ``split``: its checkout
    and documents workers in two processes (so WeasyPrint does not share the checkout worker's GIL)."""
    bench = [sys.executable, "-m", "bench.checkout", "--role"]
    layouts = {
        "on": [("worker", [str(Path(sys.executable).parent / "boxoffice"), "worker"])],
        "off": [("checkout-worker", [*bench, "checkout-worker"])],
        "split": [("checkout-worker", [*bench, "checkout-worker"]), ("documents-worker", [*bench, "documents-worker"])],
    }
    log = stack.tmp / f"activities-{mode}.jsonl" if mode != "on" else None
    env = {
        **stack.env,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        **({"BENCH_ACTIVITY_LOG": str(log)} if log else {}),
        **extra_env,
    }
    with contextlib.ExitStack() as es:
        procs = [
            es.enter_context(run_process(f"{name}-{mode}", argv, log_dir=stack.tmp, env=env))
            for name, argv in layouts[mode]
        ]
        yield Workers(procs, log)


def activity_rows(log: Path, samples: Sequence[Sample]) -> list[list[object]]:
    """Median duration of each activity over the sampled checkouts (from the bench worker's log)."""
    wanted = {s.workflow_id for s in samples}
    by_type: dict[str, list[float]] = {}
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if rec["wf"] in wanted:
                key = f"  {rec['type']}{' (local)' if rec['local'] else ''}"
                by_type.setdefault(key, []).append((rec["end"] - rec["start"]) * 1000)
    order = ["open_order", "initiate_payment", "verify_payment", "complete_order", "start_fulfillment"]
    keys = sorted(by_type, key=lambda k: next((i for i, o in enumerate(order) if o in k), 99))
    return [[k, statistics.median(by_type[k]), len(by_type[k])] for k in keys]


def meter_for(stack: Stack, worker: Workers) -> CpuMeter:
    return CpuMeter(
        {
            "client": lambda: [os.getpid()],
            "api": stack.api_pids,
            "worker": worker.pids,
            "temporal": stack.temporal.pids,
            "postgres": lambda: pids_named("postgres"),
        }
    )


def count_orders(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM orders GROUP BY status").fetchall())  # type: ignore[arg-type]


def drain(dsn: str, timeout: float) -> tuple[int, float]:
    """Wait until no order is left ``paid`` but unfulfilled; (how many were waiting, seconds it took)."""
    t0 = time.monotonic()
    waiting = count_orders(dsn).get("paid", 0)
    while count_orders(dsn).get("paid", 0) and time.monotonic() - t0 < timeout:
        time.sleep(0.5)
    return waiting, time.monotonic() - t0


@dataclass
class ModeResult:
    """The figures of one fulfilment mode (or of the no-op ceiling)."""

    label: str
    latency: Run
    throughput: dict[int, Run]
    breakdown: list[dict[str, float]] = field(default_factory=list)
    activities: list[list[object]] = field(default_factory=list)
    drained: tuple[int, float] | None = None


async def wait_fulfilled(dsn: str, sample: Sample, timeout: float = 60.0) -> None:
    """Poll the order every 5 ms until it is ``fulfilled`` (PDF rendered and e-mailed); stamp when."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        deadline = time.time() + timeout
        while time.time() < deadline:
            cur = await conn.execute("SELECT status FROM orders WHERE id = %s", (uuid.UUID(sample.order_id),))
            row = await cur.fetchone()
            if row is not None and row[0] == "fulfilled":
                sample.fulfilled_at = time.time()
                return
            await asyncio.sleep(0.005)
    raise CheckoutFailed(f"order {sample.order_id} was not fulfilled within {timeout:g}s")


async def measure_real(
    stack: Stack, worker: Workers, cat: Catalogue, tokens: list[str], args: argparse.Namespace, *, fulfils: bool
) -> ModeResult:
    """Warm-up, low-load latency, then throughput at each concurrency, through the API and this worker.

    At low load one checkout is in the system at a time: the next starts once the previous checkout run has
    closed (its last step starts the fulfilment run, after the tickets are issued) and, with fulfilment running
    (``fulfils``), once its order is fulfilled, which also measures the time from tickets to e-mail. The no-op
    ceiling's client likewise awaits each run's result."""
    from boxoffice.temporal import connect

    temporal = await connect(stack.temporal.address, "default")

    async def settle(sample: Sample) -> None:
        await asyncio.wait_for(temporal.get_workflow_handle(sample.workflow_id).result(), 60)
        if fulfils:
            await wait_fulfilled(stack.db.dsn, sample)

    async with api_buyers(stack.api_url, tokens, cat, args, stack.db.dsn) as one:
        warm = await sequential(args.warmup_checkouts, one, settle=settle)
        if warm.errors:
            raise RuntimeError(f"warm-up checkouts failed: {dict(warm.errors)}\n{worker.log_tail()}")
        print(f"  latency: {args.checkouts} checkouts, one at a time …", flush=True)
        latency = await sequential(args.checkouts, one, meter_for(stack, worker), settle)
        throughput = {}
        for c in args.concurrency:
            print(f"  throughput: {c} buyers, {args.warmup:g}s warm-up + {args.duration:g}s …", flush=True)
            throughput[c] = await timed_loop(
                c, one, warmup=args.warmup, duration=args.duration, meter=meter_for(stack, worker)
            )
    tls = await timelines(stack.temporal.address, latency.samples)
    acts = activity_rows(worker.activity_log, latency.samples) if worker.activity_log else []
    return ModeResult("", latency, throughput, tls, acts)


async def measure_noop(stack: Stack, worker: Process, args: argparse.Namespace) -> ModeResult:
    async with noop_client(stack.temporal.address) as one:
        await sequential(args.warmup_checkouts, one)
        latency = await sequential(args.checkouts, one)
        throughput = {}
        for c in args.concurrency:
            print(f"  throughput: {c} clients, {args.warmup:g}s warm-up + {args.duration:g}s …", flush=True)
            meter = CpuMeter(
                {
                    "client": lambda: [os.getpid()],
                    "worker": worker.pids,
                    "temporal": stack.temporal.pids,
                    "postgres": lambda: pids_named("postgres"),
                }
            )
            throughput[c] = await timed_loop(c, one, warmup=args.warmup, duration=args.duration, meter=meter)
    return ModeResult("no-op ceiling", latency, throughput, await timelines(stack.temporal.address, latency.samples))


# Report ------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(args: argparse.Namespace, noop: ModeResult, modes: list[ModeResult]) -> int:
    """Print the tables; return 1 if any checkout failed."""
    lat_rows: list[list[object]] = []
    for m in modes:
        a = latency_ms([s.checkout_s for s in m.latency.samples])
        b = latency_ms([s.tickets_s for s in m.latency.samples])
        pay = latency_ms([s.pay_end - s.pay_start for s in m.latency.samples])
        lat_rows.append(
            [
                f"{m.label}: POST /v1/checkouts → payment_url",
                a["p50"],
                a["p90"],
                a["p99"],
                a["max"],
                f"p50 <= {TARGET_CHECKOUT_P50_MS:.0f}",
                verdict(a["p50"] <= TARGET_CHECKOUT_P50_MS),
            ]
        )
        lat_rows.append(
            [
                f"{m.label}: webhook → tickets issued",
                b["p50"],
                b["p90"],
                b["p99"],
                b["max"],
                f"p50 <= {TARGET_TICKETS_P50_MS:.0f}",
                verdict(b["p50"] <= TARGET_TICKETS_P50_MS),
            ]
        )
        lat_rows.append(
            [f"{m.label}: (Pay form POST answered)", pay["p50"], pay["p90"], pay["p99"], pay["max"], "", ""]
        )
        emailed = [s.fulfilled_at - s.tickets_at for s in m.latency.samples if s.fulfilled_at is not None]
        if emailed:
            f = latency_ms(emailed)
            lat_rows.append([f"{m.label}: (tickets → PDF e-mailed)", f["p50"], f["p90"], f["p99"], f["max"], "", ""])
    a = latency_ms([s.checkout_s for s in noop.latency.samples])
    b = latency_ms([s.tickets_at - s.pay_end for s in noop.latency.samples])
    sig = latency_ms([s.pay_end - s.pay_start for s in noop.latency.samples])
    lat_rows.append(
        ["no-op: update-with-start → update result", a["p50"], a["p90"], a["p99"], a["max"], "floor of A", ""]
    )
    lat_rows.append(["no-op: signal sent → workflow result", b["p50"], b["p90"], b["p99"], b["max"], "floor of B", ""])
    lat_rows.append(["no-op: signal RPC", sig["p50"], sig["p90"], sig["p99"], sig["max"], "", ""])
    print_table(
        ["latency (concurrency 1)", "p50 ms", "p90 ms", "p99 ms", "max ms", "target", "verdict"],
        lat_rows,
        title=f"Latency at low load ({args.checkouts} checkouts one at a time, observed via {args.observe})",
    )
    for m in modes:
        if m.latency.meter is not None:
            print(f"  CPU, {m.label}: {m.latency.meter.summary()}")

    rows: list[list[object]] = []
    for c in args.concurrency:
        ceiling = noop.throughput[c].rate if c in noop.throughput else 0.0
        for m in modes:
            run = m.throughput[c]
            ratio = run.rate / ceiling if ceiling else 0.0
            rows.append(
                [
                    f"{m.label}, {c} buyers",
                    run.rate,
                    ceiling,
                    f"{ratio:.2f}",
                    f">= {TARGET_RATIO:.2f}",
                    verdict(ratio >= TARGET_RATIO),
                ]
            )
        rows.append([f"no-op ceiling, {c} clients", ceiling, "", "", "", ""])
    print_table(
        ["checkouts/s", "value", "ceiling", "ratio", "target", "verdict"],
        rows,
        title=f"Throughput ({args.duration:g}s windows)",
    )

    load_rows: list[list[object]] = []
    for c in args.concurrency:
        for m in [*modes, noop]:
            if c not in m.throughput:
                continue
            run = m.throughput[c]
            w = run.in_window()
            a = latency_ms([s.checkout_s for s in w])
            b = latency_ms([s.tickets_s if m is not noop else s.tickets_at - s.pay_end for s in w])
            load_rows.append(
                [
                    f"{m.label}, {c}",
                    len(w),
                    a["p50"],
                    a["p99"],
                    b["p50"],
                    b["p99"],
                    run.meter.summary() if run.meter else "",
                ]
            )
    print_table(
        ["under load", "done", "A p50", "A p99", "B p50", "B p99", "CPU during the window (2 cores)"],
        load_rows,
        title="Latency and CPU under load (A = checkout → payment_url, B = pay → tickets; ms)",
    )
    print_cpu_per_checkout(args, modes, noop)

    for m in [*modes, noop]:
        if m.breakdown:
            rows = breakdown_rows(m.breakdown)
            if m.activities:
                rows += [["activities (bench worker's interceptor)", "", ""], *m.activities]
            print_table(
                ["step", "median ms", "n"],
                rows,
                title=f"Where the time goes at concurrency 1, {m.label} (server event times from the histories)",
            )
        if m.drained is not None:
            n, secs = m.drained
            print(f"  {m.label}: {n} paid orders awaited fulfilment after the run; drained in {secs:.1f}s")

    failed = False
    for m in [*modes, noop]:
        errors = Counter(m.latency.errors)
        for run in m.throughput.values():
            errors.update(run.errors)
        if errors:
            failed = True
            print(f"\nerrors, {m.label}:", file=sys.stderr)
            for msg, n in errors.most_common(10):
                print(f"  {n} × {msg}", file=sys.stderr)
    return 1 if failed else 0


def print_cpu_per_checkout(args: argparse.Namespace, modes: list[ModeResult], noop: ModeResult) -> None:
    """CPU milliseconds per completed checkout, by process group, in each throughput window.

    On a box whose cores every process shares, this is what bounds throughput: the ceiling spends its CPU on
    Temporal alone, while a checkout also pays for the API, PostgreSQL, the sandbox provider (played by the
    API) and the buyers (the bench client)."""
    groups = ["client", "api", "worker", "temporal", "postgres"]
    rows: list[list[object]] = []
    for c in args.concurrency:
        for m in [*modes, noop]:
            run = m.throughput.get(c)
            if run is None or run.meter is None or not run.in_window():
                continue
            n = len(run.in_window())
            per = {g: 1000 * run.meter.used.get(g, 0.0) / n for g in groups}
            rows.append(
                [f"{m.label}, {c}", *(per[g] if g in run.meter.used else "" for g in groups), sum(per.values())]
            )
    if rows:
        print_table(["CPU ms per checkout", *groups, "total"], rows, title="CPU per checkout in the throughput windows")


# Main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.checkout", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkouts", type=int, default=40, help="sequential checkouts for low-load latency (default 40)")
    p.add_argument("--warmup-checkouts", type=int, default=5, help="unmeasured checkouts first (default 5)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[8, 16], help="buyers for throughput (default 8 16)")
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per throughput run (default 15)")
    p.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds before each throughput run (default 3)"
    )
    p.add_argument(
        "--fulfilment",
        choices=["on", "off", "split"],
        nargs="+",
        default=["on", "off"],
        help="worker layouts to measure: on = `boxoffice worker` as deployed (PDF + e-mail in the same process); "
        "off = its checkout worker alone (fulfilment runs wait unprocessed); split = its checkout and documents "
        "workers in two processes (default: on off; off always runs last)",
    )
    p.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the worker processes (experiments, e.g. LD_LIBRARY_PATH=…)",
    )
    p.add_argument("--quantity", type=int, default=1, help="tickets per checkout (default 1)")
    p.add_argument("--observe", choices=["db", "api"], default="db", help="how 'tickets issued' is seen (default db)")
    p.add_argument("--poll-ms", type=float, default=5.0, help="observer poll interval in ms (default 5)")
    p.add_argument("--api-workers", type=int, default=1, help="uvicorn workers of the API (default 1)")
    p.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for fulfilment backlog (300)")
    p.add_argument("--skip-ceiling", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with every process's log")
    p.add_argument(
        "--role",
        choices=["bench", "noop-worker", "checkout-worker", "documents-worker"],
        default="bench",
        help=argparse.SUPPRESS,
    )
    p.add_argument("--temporal-address", default="", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "noop-worker":
        asyncio.run(noop_worker_main(args.temporal_address))
        return 0
    if args.role in ("checkout-worker", "documents-worker"):
        asyncio.run(bench_worker_main(args.role.removesuffix("-worker")))
        return 0

    from boxoffice.migrations import upgrade

    secret = new_secret()
    tmp = Path(tempfile.mkdtemp(prefix="boxoffice-bench-checkout-"))
    try:
        with (
            throwaway_database() as db,
            run_temporal_dev_server(SEARCH_ATTRIBUTE_NAMES, state_dir=tmp) as temporal,
        ):
            print(
                f"database {db.name} (synchronous_commit={server_setting(db.dsn, 'synchronous_commit')}), "
                f"Temporal dev server at {temporal.address}, logs under {tmp}",
                flush=True,
            )
            from boxoffice.ticketing.pdf import font_subsetter

            print(
                f"PDF font subsetting: {font_subsetter()}"
                + ("" if font_subsetter() == "harfbuzz" else " (slow: apt-get install libharfbuzz-subset0)"),
                flush=True,
            )
            upgrade(db.url)
            cat = asyncio.run(seed(db.url))
            tokens = buyer_tokens(secret, max(max(args.concurrency), 1))
            port = free_port()
            env = {
                "BOXOFFICE_ENV": "test",
                "BOXOFFICE_DATABASE_URL": db.url,
                "BOXOFFICE_TEMPORAL_ADDRESS": temporal.address,
                "BOXOFFICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "BOXOFFICE_DATA_DIR": str(tmp / "data"),
                "BOXOFFICE_JWT_SECRET": secret,
                "BOXOFFICE_SANDBOX_WEBHOOK_SECRET": new_secret(),
                "BOXOFFICE_LOG_LEVEL": "WARNING",
            }
            (tmp / "data").mkdir()
            noop = ModeResult("no-op ceiling", Run(), {})
            if not args.skip_ceiling:
                print("ceiling: the no-op checkout-shaped workflow …", flush=True)
                argv_w = [
                    sys.executable,
                    "-m",
                    "bench.checkout",
                    "--role",
                    "noop-worker",
                    "--temporal-address",
                    temporal.address,
                ]
                pythonpath = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
                with run_process("noop-worker", argv_w, log_dir=tmp, env=pythonpath) as w:
                    noop = asyncio.run(measure_noop(Stack(tmp, db, temporal, "", list, env), w, args))
            modes: list[ModeResult] = []
            with run_api(
                db.url, jwt_secret=secret, workers=args.api_workers, extra_env=env, port=port, data_dir=tmp / "data"
            ) as api:
                stack = Stack(tmp, db, temporal, api.base_url, api.pids, env)
                worker_env = dict(kv.split("=", 1) for kv in args.worker_env)
                # "off" leaves fulfilment runs queued that a later documents worker would pick up: run it last.
                for mode in sorted(dict.fromkeys(args.fulfilment), key=lambda m: m == "off"):
                    print(f"fulfilment {mode}: {LAYOUTS[mode]} …", flush=True)
                    with boxoffice_workers(stack, mode, worker_env) as workers:
                        try:
                            result = asyncio.run(measure_real(stack, workers, cat, tokens, args, fulfils=mode != "off"))
                        except Exception:
                            print(workers.log_tail(), file=sys.stderr)
                            print(api.log_tail(), file=sys.stderr)
                            raise
                        result.label = f"fulfilment {mode}"
                        if mode != "off":
                            result.drained = drain(db.dsn, args.drain_timeout)
                        modes.append(result)
            print(f"orders by status: {count_orders(db.dsn)}")
            return report(args, noop, modes)
    finally:
        if args.keep_logs:
            print(f"logs kept under {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
