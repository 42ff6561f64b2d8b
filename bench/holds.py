"""Holds per second through the real API, beside the raw PostgreSQL ceiling, plus an oversell check.

Run: ``.venv/bin/python -m bench.holds`` (``--help`` for options). In one run it

1. creates a throwaway database (``boxoffice_bench_<pid>``), migrates it, seeds an event and ticket types;
2. measures the ceiling: pgbench (``-f`` custom script, ``-c`` clients, ``-j 2``, ``-T`` seconds) running the
   hold transaction the service runs (the same conditional ``UPDATE ticket_types … WHERE held + sold + q <=
   capacity`` and the same ``INSERT INTO holds``) on one hot ticket type row;
3. measures ``POST /v1/holds`` (quantity 1, buyer tokens) through ``boxoffice api`` with 1 and 2 uvicorn
   workers, from concurrent keep-alive httpx clients (optionally several client processes), counting 201s
   in a fixed window after a warm-up, and checks the API did not oversell (``held`` equals the sum of active
   holds and the 201s counted);
4. fires 3×N concurrent holds at a ticket type of capacity N: exactly N must succeed, the rest must be 409
   ``sold_out``, and the database must show ``held == N == Σ active holds`` and ``held + sold <= capacity``;
5. prints every figure beside its ceiling, with the ratio against the target, and drops the database.

The exit status is non-zero only when an oversell (or any inventory inconsistency) is found; a missed
throughput target prints MISS but does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, TypeVar

import httpx
import psycopg

from bench.common import (
    BENCH_ORG,
    ApiServer,
    CpuMeter,
    PgbenchResult,
    ThrowawayDb,
    buyer_tokens,
    latency_ms,
    new_secret,
    pids_named,
    print_table,
    run_api,
    run_pgbench,
    seed_event,
    server_setting,
    throwaway_database,
)

ORG = BENCH_ORG
T = TypeVar("T")
TARGET_RATIO = 0.30


# Setup -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """The seeded event and its ticket types, by name."""

    event_id: uuid.UUID
    ticket_types: dict[str, uuid.UUID]


async def seed(url: str, capacities: dict[str, int]) -> Catalogue:
    """Create the bench organisation, one event and a free ticket type per entry, through the services."""
    from boxoffice.catalogue.rules import PricingModel, TicketTypeInput

    types = [TicketTypeInput(name=n, capacity=c, pricing_model=PricingModel.FREE) for n, c in capacities.items()]
    event_id, ids = await seed_event(url, types)
    return Catalogue(event_id=event_id, ticket_types=dict(zip(capacities, ids, strict=True)))


# The raw ceiling ---------------------------------------------------------------------------------------


def pgbench_script(event_id: uuid.UUID, ticket_type_id: uuid.UUID, *, with_select: bool = False) -> str:
    """The hold transaction as a pgbench script: the service's conditional UPDATE and INSERT, committed.

    ``with_select`` adds the service's first statement too (the ticket type ⋈ event read), to show what
    the full three-statement transaction costs the database alone.
    """
    tt, ev = f"'{ticket_type_id}'", f"'{event_id}'"
    select = (
        "SELECT t.organization_id, t.event_id, t.max_per_order, t.sales_start, t.sales_end, e.ends_at "
        f"FROM ticket_types t JOIN events e ON e.id = t.event_id WHERE t.id = {tt};\n"
    )
    return (
        "\\set q 1\n"
        "BEGIN;\n"
        + (select if with_select else "")
        + f"UPDATE ticket_types SET held = held + :q WHERE id = {tt} AND held + sold + :q <= capacity RETURNING id;\n"
        "INSERT INTO holds (id, organization_id, event_id, ticket_type_id, user_id, quantity, status, expires_at, "
        "created_at, order_id, ended_at) "
        f"VALUES (gen_random_uuid(), '{ORG}', {ev}, {tt}, 'pgbench-' || :client_id, :q, 'active', "
        "now() + interval '600 seconds', now(), NULL, NULL);\n"
        "COMMIT;\n"
    )


# Load through the API ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What the client saw: statuses of every request, and latencies/201s inside the measured window."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    window_created: int = 0
    window_latencies: list[float] = field(default_factory=list)
    window_seconds: float = 0.0

    def merge(self, other: LoadResult) -> None:
        self.statuses.update(other.statuses)
        self.codes.update(other.codes)
        self.errors.update(other.errors)
        self.window_created += other.window_created
        self.window_latencies.extend(other.window_latencies)
        self.window_seconds = max(self.window_seconds, other.window_seconds)

    @property
    def created(self) -> int:
        return self.statuses[201]

    @property
    def rate(self) -> float:
        return self.window_created / self.window_seconds if self.window_seconds else 0.0


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client connection: pre-encoded requests, Content-Length responses.

    It costs the shared CPUs a fraction of what httpx does per request, so on a small machine more of the
    cores go to the API under test. Use ``--client httpx`` for the stock client.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one pre-encoded request and return (status, body); reconnects once if the server closed."""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, close = None, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length is None:
                raise RuntimeError("response without Content-Length (chunked is not supported by the raw client)")
            body = await self.reader.readexactly(length)
            if close:
                await self.close()
            return status, body
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def encode_post(host: str, path: str, token: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _load(
    base_url: str,
    tokens: list[str],
    ticket_type_id: str,
    concurrency: int,
    start: float,
    end: float,
    client_kind: str = "raw",
    reconnect_every: int = 0,
) -> LoadResult:
    """``concurrency`` looping buyers until wall time ``end``; only ``[start, end]`` counts for rate/latency."""
    result = LoadResult(window_seconds=end - start)
    body = json.dumps({"ticket_type_id": ticket_type_id, "quantity": 1}).encode()
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:

        async def buyer(i: int) -> None:
            token = tokens[i % len(tokens)]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            raw = encode_post(f"{host}:{port}", "/v1/holds", token, body)
            conn = RawConnection(host, port)
            sent = 0
            try:
                while time.time() < end:
                    sent += 1
                    if reconnect_every and sent % reconnect_every == 0:
                        # Keep-alive connections opened at once mostly land on one uvicorn worker; reopening
                        # now and then lets the kernel hand them to whichever worker is free to accept.
                        await conn.close()
                    t0 = time.time()
                    try:
                        if client_kind == "raw":
                            status, content = await asyncio.wait_for(conn.request(raw), 30.0)
                        else:
                            r = await client.post("/v1/holds", content=body, headers=headers)
                            status, content = r.status_code, r.content
                    except (httpx.HTTPError, OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                        result.errors[type(exc).__name__] += 1
                        await conn.close()
                        continue
                    t1 = time.time()
                    result.statuses[status] += 1
                    if status != 201:
                        result.codes[str(json.loads(content or b"{}").get("code", "?"))] += 1
                    elif start <= t1 <= end:
                        result.window_created += 1
                    if t0 >= start and t1 <= end:
                        result.window_latencies.append(t1 - t0)
            finally:
                await conn.close()

        await asyncio.gather(*(buyer(i) for i in range(concurrency)))
    return result


def _load_process(
    base_url: str,
    tokens: list[str],
    ticket_type_id: str,
    concurrency: int,
    start: float,
    end: float,
    client_kind: str,
    reconnect_every: int,
) -> LoadResult:
    """One client process's share of the load (uvloop when available, as the API itself uses)."""
    return run_async(_load(base_url, tokens, ticket_type_id, concurrency, start, end, client_kind, reconnect_every))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (as uvicorn does), else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_load(
    base_url: str,
    tokens: list[str],
    ticket_type_id: uuid.UUID,
    *,
    concurrency: int,
    client_procs: int,
    warmup: float,
    duration: float,
    meter: CpuMeter,
    client_kind: str = "raw",
    reconnect_every: int = 0,
) -> LoadResult:
    """Drive the API from ``client_procs`` processes sharing ``concurrency`` connections; meter CPU."""
    begin = time.time() + (1.5 if client_procs > 1 else 0.2)  # spawned clients need a moment to import
    start, end = begin + warmup, begin + warmup + duration
    shares = [concurrency // client_procs + (1 if i < concurrency % client_procs else 0) for i in range(client_procs)]
    total = LoadResult()

    async def metered() -> None:
        await asyncio.sleep(max(0.0, start - time.time()))
        meter.start()
        await asyncio.sleep(max(0.0, end - time.time()))
        meter.stop()

    if client_procs == 1:

        async def both() -> LoadResult:
            done = await asyncio.gather(
                _load(base_url, tokens, str(ticket_type_id), concurrency, start, end, client_kind, reconnect_every),
                metered(),
            )
            return done[0]

        total.merge(run_async(both()))
        return total
    with ProcessPoolExecutor(max_workers=client_procs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(
                _load_process,
                base_url,
                tokens[i::client_procs],
                str(ticket_type_id),
                share,
                start,
                end,
                client_kind,
                reconnect_every,
            )
            for i, share in enumerate(shares)
        ]
        meter.groups["client"] = lambda: [p.pid for p in pool._processes.values()]  # type: ignore[union-attr]
        run_async(metered())
        for f in futures:
            total.merge(f.result())
    return total


# Inventory checks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    capacity: int
    held: int
    sold: int
    active_holds: int
    active_quantity: int

    def oversells(self, expected_held: int | None = None) -> int:
        """Seats handed out beyond capacity, or beyond/short of what the holds and the client account for."""
        over = max(0, self.held + self.sold - self.capacity)
        if self.held != self.active_quantity:
            over = max(over, abs(self.held - self.active_quantity))
        if expected_held is not None and self.held != expected_held:
            over = max(over, abs(self.held - expected_held))
        return over


def inventory(dsn: str, ticket_type_id: uuid.UUID) -> Inventory:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT t.capacity, t.held, t.sold, count(h.id), coalesce(sum(h.quantity), 0) "
            "FROM ticket_types t LEFT JOIN holds h ON h.ticket_type_id = t.id AND h.status = 'active' "
            "WHERE t.id = %s GROUP BY t.id",
            (ticket_type_id,),
        ).fetchone()
    assert row is not None
    return Inventory(*(int(v) for v in row))


@dataclass
class OversellOutcome:
    capacity: int
    fired: int
    statuses: Counter[int]
    codes: Counter[str]
    inv: Inventory
    latencies: list[float]
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def oversells(self) -> int:
        return max(self.statuses[201] - self.capacity, 0, self.inv.oversells(expected_held=self.statuses[201]))

    @property
    def ok(self) -> bool:
        rest = self.fired - self.capacity
        return (
            self.oversells == 0
            and not self.errors
            and self.statuses[201] == self.capacity
            and self.statuses[409] == rest
            and self.codes["sold_out"] == rest
            and self.inv.held == self.capacity == self.inv.active_quantity
        )


async def _burst(
    base_url: str, tokens: list[str], ticket_type_id: uuid.UUID, n: int, concurrency: int
) -> OversellOutcome:
    """Fire ``n`` hold requests at once over ``concurrency`` pre-opened connections and tally the answers.

    Connections are opened (and proven with ``GET /healthz``) before the gate opens, so the burst measures
    the inventory under contention, not a storm of TCP handshakes.
    """
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    body = json.dumps({"ticket_type_id": str(ticket_type_id), "quantity": 1}).encode()
    requests = [encode_post(f"{host}:{port}", "/v1/holds", tokens[i % len(tokens)], body) for i in range(n)]
    health = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    conns = [RawConnection(host, port) for _ in range(min(concurrency, n))]
    for conn in conns:
        await conn.request(health)
    gate = asyncio.Event()
    todo = iter(requests)

    async def worker(conn: RawConnection) -> None:
        await gate.wait()
        for raw in todo:
            t0 = time.perf_counter()
            try:
                status, content = await asyncio.wait_for(conn.request(raw), 60.0)
            except (OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                errors[type(exc).__name__] += 1  # the request may or may not have been applied: the DB decides
                await conn.close()
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[status] += 1
            if status != 201:
                codes[str(json.loads(content or b"{}").get("code", "?"))] += 1

    tasks = [asyncio.create_task(worker(c)) for c in conns]
    await asyncio.sleep(0.05)
    gate.set()
    try:
        await asyncio.gather(*tasks)
    finally:
        for conn in conns:
            await conn.close()
    return OversellOutcome(0, n, statuses, codes, Inventory(0, 0, 0, 0, 0), latencies, errors)


def oversell_check(
    server: ApiServer,
    dsn: str,
    tokens: list[str],
    ticket_type_id: uuid.UUID,
    capacity: int,
    factor: int,
    concurrency: int,
) -> OversellOutcome:
    outcome = run_async(_burst(server.base_url, tokens, ticket_type_id, capacity * factor, concurrency))
    outcome.capacity = capacity
    outcome.inv = inventory(dsn, ticket_type_id)
    return outcome


# Main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.holds", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per API run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each API run (default 2)")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent API connections (default 16)")
    p.add_argument("--client-procs", type=int, default=1, help="client processes sharing the connections (default 1)")
    p.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load client: a lean keep-alive HTTP/1.1 client (default), or httpx.AsyncClient (costs ~3x the CPU)",
    )
    p.add_argument(
        "--reconnect-every",
        type=int,
        default=20,
        help="reopen each client connection after this many requests so uvicorn workers share the load "
        "(0 = never; default 20)",
    )
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts to try (default: 1 2)")
    p.add_argument("--pg-clients", type=int, default=16, help="pgbench -c (default 16)")
    p.add_argument("--pg-threads", type=int, default=2, help="pgbench -j (default 2)")
    p.add_argument("--pg-seconds", type=int, default=10, help="pgbench -T (default 10)")
    p.add_argument("--pg-protocol", default="prepared", choices=["simple", "extended", "prepared"], help="pgbench -M")
    p.add_argument(
        "--no-select-ceiling", action="store_true", help="skip the informational SELECT+UPDATE+INSERT ceiling"
    )
    p.add_argument("--capacity", type=int, default=200, help="seats in the oversell check (default 200)")
    p.add_argument("--oversell-factor", type=int, default=3, help="requests per seat in the oversell check (default 3)")
    p.add_argument(
        "--burst-connections", type=int, default=100, help="connections the oversell burst uses (default 100)"
    )
    p.add_argument("--skip-load", action="store_true", help="only run the oversell check (and the ceiling)")
    p.add_argument("--verbose", action="store_true", help="print pgbench's output and the API's log tail")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    secret = new_secret()
    big = 1_000_000_000  # never sells out in any run
    names = {"pgbench": big, "pgbench_select": big}
    names.update({f"api_w{w}": big for w in args.workers})
    names.update({f"oversell_w{w}": args.capacity for w in args.workers})

    with throwaway_database() as db:
        print(f"database {db.name} (synchronous_commit={server_setting(db.dsn, 'synchronous_commit')})")
        from boxoffice.migrations import upgrade

        upgrade(db.url)
        cat = asyncio.run(seed(db.url, names))
        tokens = buyer_tokens(secret, max(args.concurrency, 64))
        return _run(args, db, cat, secret, tokens)


def _run(args: argparse.Namespace, db: ThrowawayDb, cat: Catalogue, secret: str, tokens: list[str]) -> int:
    pg_label = f"pgbench -c{args.pg_clients} -j{args.pg_threads} -T{args.pg_seconds} -M {args.pg_protocol}"
    print(f"measuring the raw PostgreSQL ceiling ({pg_label}) …", flush=True)
    ceiling = run_pgbench(
        db.dsn,
        pgbench_script(cat.event_id, cat.ticket_types["pgbench"]),
        clients=args.pg_clients,
        threads=args.pg_threads,
        seconds=args.pg_seconds,
        protocol=args.pg_protocol,
    )
    if args.verbose:
        print(ceiling.output)
    with_select: PgbenchResult | None = None
    if not args.no_select_ceiling:
        with_select = run_pgbench(
            db.dsn,
            pgbench_script(cat.event_id, cat.ticket_types["pgbench_select"], with_select=True),
            clients=args.pg_clients,
            threads=args.pg_threads,
            seconds=args.pg_seconds,
            protocol=args.pg_protocol,
        )
    pg_inv = inventory(db.dsn, cat.ticket_types["pgbench"])

    figures: list[tuple[str, LoadResult, CpuMeter, Inventory]] = []
    bursts: list[tuple[int, OversellOutcome]] = []
    for workers in args.workers:
        with run_api(db.url, jwt_secret=secret, workers=workers) as server:
            if not args.skip_load:
                print(
                    f"API, {workers} worker(s): {args.concurrency} {args.client} connections from {args.client_procs} "
                    f"client process(es), {args.warmup:g}s warm-up + {args.duration:g}s …",
                    flush=True,
                )
                meter = CpuMeter({"client": lambda: [], "api": server.pids, "postgres": lambda: pids_named("postgres")})
                if args.client_procs == 1:
                    import os

                    meter.groups["client"] = lambda: [os.getpid()]
                tt = cat.ticket_types[f"api_w{workers}"]
                load = run_load(
                    server.base_url,
                    tokens,
                    tt,
                    concurrency=args.concurrency,
                    client_procs=args.client_procs,
                    warmup=args.warmup,
                    duration=args.duration,
                    meter=meter,
                    client_kind=args.client,
                    reconnect_every=args.reconnect_every,
                )
                figures.append(
                    (
                        f"holds/s via API ({workers} worker{'s' if workers > 1 else ''})",
                        load,
                        meter,
                        inventory(db.dsn, tt),
                    )
                )
            print(
                f"oversell check, {workers} worker(s): {args.capacity * args.oversell_factor} holds at {args.capacity} seats …",
                flush=True,
            )
            burst = oversell_check(
                server,
                db.dsn,
                tokens,
                cat.ticket_types[f"oversell_w{workers}"],
                args.capacity,
                args.oversell_factor,
                concurrency=args.burst_connections,
            )
            bursts.append((workers, burst))
            if args.verbose:
                print(server.log_tail())

    return report(args, pg_label, ceiling, with_select, pg_inv, figures, bursts)


def report(
    args: argparse.Namespace,
    pg_label: str,
    ceiling: PgbenchResult,
    with_select: PgbenchResult | None,
    pg_inv: Inventory,
    figures: list[tuple[str, LoadResult, CpuMeter, Inventory]],
    bursts: list[tuple[int, OversellOutcome]],
) -> int:
    """Print the tables; return the exit status (1 on any oversell or inconsistency)."""
    rows: list[list[object]] = []
    for label, load, _meter, _inv in figures:
        ratio = load.rate / ceiling.tps if ceiling.tps else 0.0
        verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
        rows.append(
            [label, load.rate, "raw PG ceiling", ceiling.tps, f"{ratio:.2f}", f">= {TARGET_RATIO:.2f}", verdict]
        )
    rows.append([f"raw PG ceiling ({pg_label})", ceiling.tps, "", "", "", "", ""])
    if with_select is not None:
        rows.append(["raw PG, + the service's SELECT (info)", with_select.tps, "", "", "", "", ""])
    print_table(["figure", "value", "vs", "ceiling", "ratio", "target", "verdict"], rows, title="Throughput")

    lat_rows: list[list[object]] = []
    for label, load, meter, _inv in figures:
        lat = latency_ms(load.window_latencies)
        lat_rows.append(
            [label.replace("holds/s via ", ""), lat["p50"], lat["p90"], lat["p99"], lat["max"], meter.summary()]
        )
    lat_rows.append([f"pgbench mean ({args.pg_clients} clients)", ceiling.latency_ms, "", "", "", ""])
    print_table(
        ["POST /v1/holds latency", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU during the window"],
        lat_rows,
        title=f"Latency ({args.concurrency} concurrent connections)",
    )

    failed = False
    inv_rows: list[list[object]] = []
    for label, load, _meter, inv in figures:
        over = inv.oversells(expected_held=load.created)
        failed |= over != 0 or bool(load.errors)
        other = {k: v for k, v in load.statuses.items() if k != 201}
        inv_rows.append(
            [
                label,
                load.created,
                inv.held,
                inv.active_quantity,
                over,
                f"{other or ''} {dict(load.errors) or ''}".strip(),
            ]
        )
    over = pg_inv.oversells()
    failed |= over != 0
    inv_rows.append(["pgbench ceiling run", ceiling.transactions, pg_inv.held, pg_inv.active_quantity, over, ""])
    print_table(
        ["run", "201s / txs", "held", "Σ active holds", "oversells", "non-201"],
        inv_rows,
        title="Inventory after the load",
    )

    burst_rows: list[list[object]] = []
    total_over = 0
    for workers, b in bursts:
        total_over += b.oversells
        failed |= not b.ok
        burst_rows.append(
            [
                f"{workers} worker(s)",
                b.capacity,
                b.fired,
                b.statuses[201],
                b.codes["sold_out"],
                b.inv.held,
                b.inv.active_quantity,
                b.inv.held + b.inv.sold <= b.inv.capacity,
                b.oversells,
                "ok" if b.ok else f"FAIL {dict(b.statuses)} {dict(b.codes)} {dict(b.errors) or ''}",
            ]
        )
    print_table(
        [
            "oversell check",
            "capacity",
            "fired",
            "201",
            "409 sold_out",
            "held",
            "Σ active",
            "held+sold<=cap",
            "oversells",
            "result",
        ],
        burst_rows,
        title=f"Oversell check ({args.oversell_factor}x capacity, fired at once)",
    )
    print(f"\noversells: {total_over}")
    if failed:
        print("FAILED: inventory inconsistency or oversell (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
