"""How ``bench.checkout`` sees an order's tickets issued (polling the database, or the API) and its fulfilment."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import httpx
import psycopg

from bench.checkout.figures import CheckoutFailed, Sample

PAID = ("paid", "fulfilled")
FAILED = ("cancelled", "refunded")


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
        """A future set to the time the order is first seen paid (an exception if it ends otherwise)."""
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


def count_orders(dsn: str) -> dict[str, int]:
    """How many orders the database holds in each status."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT status, count(*) FROM orders GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


def drain(dsn: str, timeout: float) -> tuple[int, float]:
    """Wait until no order is left ``paid`` but unfulfilled; (how many were waiting, seconds it took)."""
    t0 = time.monotonic()
    waiting = count_orders(dsn).get("paid", 0)
    while count_orders(dsn).get("paid", 0) and time.monotonic() - t0 < timeout:
        time.sleep(0.5)
    return waiting, time.monotonic() - t0
