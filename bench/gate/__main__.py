"""``python -m bench.gate``: its options, and one run from the offline figures to the online ones."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections import deque
from pathlib import Path

import bench.gate
from bench.gate.load import run_scans
from bench.gate.offline import measure_offline
from bench.gate.report import Window, report
from bench.gate.seeding import admitted_count, seed_tickets
from bench.holds.load import LoadShape, run_load
from bench.measurement import PidSource, postgres_pids
from bench.processes import run_api
from bench.seeding import BENCH_ORG, buyer_tokens, new_secret, seed_event, server_setting, throwaway_database
from boxoffice.auth import Role, mint_token
from boxoffice.catalogue.rules import PricingModel, TicketTypeInput
from boxoffice.migrations import upgrade
from boxoffice.ticketing.keyring import KeyRing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    description = (bench.gate.__doc__ or "").split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m bench.gate", description=description)
    p.add_argument("--offline-payloads", type=int, default=4000, help="distinct payloads verified (default 4000)")
    p.add_argument("--offline-revoked", type=int, default=2000, help="revoked ids in the bundle (default 2000)")
    p.add_argument("--offline-rounds", type=int, default=7, help="alternating rounds (default 7)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per API window (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each window (default 2)")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent API connections (default 16)")
    p.add_argument("--rounds", type=int, default=2, help="holds then scans windows, alternating (default 2)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers of the API (default 1)")
    p.add_argument("--tickets", type=int, default=30000, help="tickets seeded for the scan windows (default 30000)")
    p.add_argument("--skip-online", action="store_true", help="only the offline figures")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"offline: {args.offline_payloads} payloads, {args.offline_rounds} rounds …", flush=True)
    offline = measure_offline(args.offline_payloads, args.offline_revoked, args.offline_rounds)
    if args.skip_online:
        report(offline, [], [], concurrency=args.concurrency)
        return 0
    secret = new_secret()
    with throwaway_database("boxoffice_bench_gate") as db, tempfile.TemporaryDirectory() as tmp:
        print(f"database {db.name} (synchronous_commit={server_setting(db.dsn, 'synchronous_commit')})", flush=True)
        upgrade(db.url)
        big = 1_000_000_000
        types = [
            TicketTypeInput(name="holds", capacity=big, pricing_model=PricingModel.FREE),
            TicketTypeInput(name="gate", capacity=big, pricing_model=PricingModel.FREE),
        ]
        event_id, (holds_tt, gate_tt) = asyncio.run(seed_event(db.url, types))
        ring_file = Path(tmp) / "signing_key.pem"
        ring = KeyRing.create(ring_file)
        print(f"seeding {args.tickets} tickets …", flush=True)
        tickets = seed_tickets(db.dsn, ring, event_id, gate_tt, args.tickets)
        payloads = deque(random.sample(tickets.payloads, len(tickets.payloads)))
        scanners = [mint_token(secret, user=f"gate-{i}", org=BENCH_ORG, role=Role.SCANNER, ttl=7200) for i in range(64)]
        buyers = buyer_tokens(secret, max(args.concurrency, 64))
        env = {
            "BOXOFFICE_SIGNING_KEY_FILE": str(ring_file),
            # The holds window is the holds bench's: no per-buyer cap on active holds (issue 10's defaults).
            "BOXOFFICE_BUYER_HOLD_LIMIT_PER_TICKET_TYPE": "0",
            "BOXOFFICE_BUYER_HOLD_LIMIT_PER_EVENT": "0",
            # One pooled connection per client connection, for both windows: with fewer, every request beyond the
            # pool opens and closes a PostgreSQL connection of its own (SQLAlchemy's overflow is not kept).
            "BOXOFFICE_DATABASE_POOL_SIZE": str(max(args.concurrency, 10)),
        }
        scans: list[Window] = []
        holds: list[Window] = []
        with run_api(db.url, jwt_secret=secret, workers=args.workers, extra_env=env) as server:
            metered: dict[str, PidSource] = {"api": server.pids, "postgres": postgres_pids}
            for n in range(1, args.rounds + 1):
                print(f"round {n}: holds window, then scans window ({args.concurrency} connections) …", flush=True)
                load, meter = run_load(
                    server.base_url,
                    buyers,
                    holds_tt,
                    LoadShape(args.concurrency, "raw", 20),
                    client_procs=1,
                    warmup=args.warmup,
                    duration=args.duration,
                    metered=metered,
                )
                holds.append(Window(f"holds, round {n}", load, meter))
                result, meter = run_scans(
                    server.base_url,
                    str(event_id),
                    scanners,
                    payloads,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    duration=args.duration,
                    metered=metered,
                )
                scans.append(Window(f"scans, round {n}", result, meter))
        report(offline, scans, holds, concurrency=args.concurrency)
        admitted, recorded = admitted_count(db.dsn, event_id)
        answered = sum(w.load.statuses[200] for w in scans)
        print(f"\ndatabase: {admitted} tickets admitted, {recorded} scans recorded; the client got {answered} answers")
        if admitted != recorded or recorded < answered:
            print("FAILED: a scan answered was not recorded, or an admission has no record", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
