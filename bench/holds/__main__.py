"""``python -m bench.holds``: its options, and one run from the throwaway database to the report."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass

import bench.holds
from bench.holds.ceiling import PgbenchOptions, pgbench_script, run_pgbench
from bench.holds.load import LoadShape, run_load
from bench.holds.oversell import OversellOutcome, inventory, oversell_check
from bench.holds.report import ApiFigure, Ceiling, report
from bench.measurement import postgres_pids
from bench.processes import run_api
from bench.seeding import ThrowawayDb, buyer_tokens, new_secret, seed_event, server_setting, throwaway_database
from boxoffice.catalogue.rules import PricingModel, TicketTypeInput
from boxoffice.migrations import upgrade


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    description = (bench.holds.__doc__ or "").split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m bench.holds", description=description)
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


@dataclass(frozen=True)
class Catalogue:
    """The seeded event and its ticket types, by name."""

    event_id: uuid.UUID
    ticket_types: dict[str, uuid.UUID]


async def seed(url: str, capacities: dict[str, int]) -> Catalogue:
    """The bench organisation's event with a free ticket type per entry of ``capacities``."""
    types = [TicketTypeInput(name=n, capacity=c, pricing_model=PricingModel.FREE) for n, c in capacities.items()]
    event_id, ids = await seed_event(url, types)
    return Catalogue(event_id=event_id, ticket_types=dict(zip(capacities, ids, strict=True)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    secret = new_secret()
    big = 1_000_000_000  # never sells out in any run
    names = {"pgbench": big, "pgbench_select": big}
    names.update({f"api_w{w}": big for w in args.workers})
    names.update({f"oversell_w{w}": args.capacity for w in args.workers})

    with throwaway_database() as db:
        print(f"database {db.name} (synchronous_commit={server_setting(db.dsn, 'synchronous_commit')})")
        upgrade(db.url)
        cat = asyncio.run(seed(db.url, names))
        tokens = buyer_tokens(secret, max(args.concurrency, 64))
        return _run(args, db, cat, secret, tokens)


def measure_ceiling(args: argparse.Namespace, db: ThrowawayDb, cat: Catalogue) -> Ceiling:
    """pgbench on the hot ticket type (and, unless skipped, with the service's SELECT on another)."""
    options = PgbenchOptions(args.pg_clients, args.pg_threads, args.pg_seconds, args.pg_protocol)
    print(f"measuring the raw PostgreSQL ceiling ({options.label}) …", flush=True)
    result = run_pgbench(db.dsn, pgbench_script(cat.event_id, cat.ticket_types["pgbench"]), options)
    if args.verbose:
        print(result.output)
    with_select = None
    if not args.no_select_ceiling:
        script = pgbench_script(cat.event_id, cat.ticket_types["pgbench_select"], with_select=True)
        with_select = run_pgbench(db.dsn, script, options)
    return Ceiling(options, result, with_select, inventory(db.dsn, cat.ticket_types["pgbench"]))


def _run(args: argparse.Namespace, db: ThrowawayDb, cat: Catalogue, secret: str, tokens: list[str]) -> int:
    ceiling = measure_ceiling(args, db, cat)
    shape = LoadShape(args.concurrency, args.client, args.reconnect_every)
    figures: list[ApiFigure] = []
    bursts: list[tuple[int, OversellOutcome]] = []
    for workers in args.workers:
        with run_api(db.url, jwt_secret=secret, workers=workers) as server:
            if not args.skip_load:
                print(
                    f"API, {workers} worker(s): {args.concurrency} {args.client} connections from {args.client_procs} "
                    f"client process(es), {args.warmup:g}s warm-up + {args.duration:g}s …",
                    flush=True,
                )
                tt = cat.ticket_types[f"api_w{workers}"]
                load, meter = run_load(
                    server.base_url,
                    tokens,
                    tt,
                    shape,
                    client_procs=args.client_procs,
                    warmup=args.warmup,
                    duration=args.duration,
                    metered={"api": server.pids, "postgres": postgres_pids},
                )
                label = f"holds/s via API ({workers} worker{'s' if workers > 1 else ''})"
                figures.append(ApiFigure(label, load, meter, inventory(db.dsn, tt)))
            print(
                f"oversell check, {workers} worker(s): {args.capacity * args.oversell_factor} holds at "
                f"{args.capacity} seats …",
                flush=True,
            )
            burst = oversell_check(
                server.base_url,
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

    return report(ceiling, figures, bursts, concurrency=args.concurrency, oversell_factor=args.oversell_factor)


if __name__ == "__main__":
    sys.exit(main())
