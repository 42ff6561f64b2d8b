"""One flash sale, start to finish: the database, the providers' fakes, Temporal, the worker and the API; the crowd
let loose while the faults happen; everything settled; the books read; ``boxoffice check``; the report. Every
process is stopped and the database dropped, also on failure."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench.measurement import CpuMeter, PidSource, postgres_pids, this_process
from bench.onsale.buyers import Crowd, CrowdSettings
from bench.onsale.chaos import KILL_WORKER, RESTART_TEMPORAL, inject, watchdog
from bench.onsale.outcome import boxoffice_check, read_books, settle
from bench.onsale.plan import make_plans
from bench.onsale.providers import ProviderSide
from bench.onsale.report import Checked, Sale, report
from bench.onsale.stack import Fakes, TemporalDev, Worker, provider_fakes
from bench.onsale.traffic import http_clients
from bench.processes import BENCH_PAYLOAD_KEYS, ApiServer, free_port, run_api
from bench.seeding import buyer_tokens, new_secret, seed_event, server_setting, throwaway_database
from boxoffice.catalogue.rules import PricingModel, TicketTypeInput
from boxoffice.migrations import upgrade


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (this box is shared: they say how quiet it was)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def every_pid() -> list[int]:
    """Every process on this machine."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


async def seed(url: str, seats: int) -> list[uuid.UUID]:
    """The event: a general ticket type and a scarcer, dearer front row (a fifth of the seats)."""
    front = seats // 5
    general = TicketTypeInput("General", seats - front, PricingModel.FIXED, base_price_cents=15_000, max_per_order=4)
    row = TicketTypeInput("Front row", front, PricingModel.FIXED, base_price_cents=45_000, max_per_order=4)
    _event, ids = await seed_event(url, [general, row])
    return ids


def service_env(
    args: argparse.Namespace, db_url: str, temporal: TemporalDev, api_url: str, tmp: Path
) -> dict[str, str]:
    """The settings the API and the worker share: short windows, so that abandoned checkouts end within the run."""
    return {
        "BOXOFFICE_ENV": "test",
        "BOXOFFICE_DATABASE_URL": db_url,
        "BOXOFFICE_TEMPORAL_ADDRESS": temporal.address,
        "BOXOFFICE_PUBLIC_URL": api_url,
        "BOXOFFICE_DATA_DIR": str(tmp / "data"),
        "BOXOFFICE_SANDBOX_WEBHOOK_SECRET": new_secret(),
        "BOXOFFICE_PAYLOAD_KEYS": BENCH_PAYLOAD_KEYS,
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        "BOXOFFICE_PAYMENT_WINDOW_SECONDS": str(args.payment_window),
        "BOXOFFICE_PAYMENT_POLL_INTERVAL_SECONDS": str(args.poll_interval),
        "BOXOFFICE_HOLD_TTL_SECONDS": str(args.hold_ttl),
        "BOXOFFICE_HOLD_SWEEP_INTERVAL_SECONDS": "5",
        "BOXOFFICE_LATE_PAYMENT_GRACE_SECONDS": str(args.late_grace),
    }


async def sell(
    args: argparse.Namespace,
    tokens: list[str],
    ticket_types: list[str],
    fakes: Fakes,
    api: ApiServer,
    worker: Worker,
    temporal: TemporalDev,
    dsn: str,
) -> tuple[Sale, ProviderSide]:
    """The sale itself, with its faults, until every buyer is done and everything has settled."""
    plans = make_plans(args.buyers, seed=args.seed, rush_seconds=args.rush, front_share=0.2)
    schedule = [(at, KILL_WORKER) for at in args.kill_at] + [(at, RESTART_TEMPORAL) for at in args.temporal_restart_at]
    groups: dict[str, PidSource] = {
        "bench (buyers, fakes)": this_process,
        "api": api.pids,
        "worker": worker.pids,
        "temporal": temporal.pids,
        "postgres (every database)": postgres_pids,
    }
    named = list(groups.values())
    # This box is shared: what everything else used is part of the figures' context.
    groups["everything else"] = lambda: sorted(set(every_pid()) - {p for get in named for p in get()})
    meter = CpuMeter(groups)
    async with http_clients(api.base_url, args.concurrency) as http:
        side = ProviderSide(http, fakes)
        settings = CrowdSettings(ticket_types, args.sale_seconds, args.hold_attempts, args.late_grace, args.seed)
        crowd = Crowd(http, side, tokens, settings)
        stop, busy = asyncio.Event(), asyncio.Lock()
        offices = asyncio.create_task(side.back_offices(stop))
        meter.start()
        opened = time.time()
        dog = asyncio.create_task(watchdog(worker, busy, stop, opened))
        faults = asyncio.create_task(inject(schedule, opened, worker, temporal, busy, pause=args.restart_pause))
        outcomes = await crowd.run(plans, opened)
        closed = time.time()
        done_faults = await faults
        meter.stop()
        print(
            f"the crowd is done after {closed - opened:.0f} s (load average {load_average()}); settling …", flush=True
        )
        settle_seconds, unsettled = await settle(dsn, temporal.address, args.settle_timeout)
        stop.set()
        await offices
        unplanned = await dog
    sale = Sale(
        outcomes=outcomes,
        calls=http.calls,
        faults=done_faults,
        unplanned=unplanned,
        webhooks=side.webhooks,
        opened=opened,
        closed=closed,
        settle_seconds=settle_seconds,
        unsettled=unsettled,
        meter=meter,
        pages_not_ready=crowd.pages_not_ready,
        too_late=crowd.too_late,
    )
    return sale, side


def run(args: argparse.Namespace) -> int:
    """Run the flash sale as ``args`` say; the exit status (0 when every promise held)."""
    tmp = Path(tempfile.mkdtemp(prefix="boxoffice-bench-onsale-"))
    secret = new_secret()
    try:
        with throwaway_database("boxoffice_onsale") as db, provider_fakes() as fakes:
            upgrade(db.url)
            ticket_types = [str(i) for i in asyncio.run(seed(db.url, args.seats))]
            tokens = buyer_tokens(secret, args.buyers)
            (tmp / "data").mkdir()
            temporal = TemporalDev(tmp)
            temporal.start()
            try:
                port = free_port()
                api_url = f"http://127.0.0.1:{port}"
                env = {**service_env(args, db.url, temporal, api_url, tmp), **fakes.env()}
                fakes.point_webhooks_at(api_url)
                print(
                    f"database {db.name} (synchronous_commit={server_setting(db.dsn, 'synchronous_commit')}), "
                    f"Temporal dev server at {temporal.address} (state {temporal.db_file}), API {api_url}\n"
                    f"{args.buyers} buyers for {args.seats} seats; payment window {args.payment_window} s, polled "
                    f"every {args.poll_interval} s; holds live {args.hold_ttl} s; late-payment grace {args.late_grace} s; "
                    f"worker SIGKILLs at {args.kill_at} s, Temporal restarts at {args.temporal_restart_at} s\n"
                    f"load average before the sale: {load_average()} on {os.cpu_count()} cores",
                    flush=True,
                )
                worker = Worker(tmp, {**env, "BOXOFFICE_JWT_SECRET": secret})
                worker.start()
                try:
                    with run_api(db.url, jwt_secret=secret, extra_env=env, port=port, data_dir=tmp / "data") as api:
                        sale, side = asyncio.run(sell(args, tokens, ticket_types, fakes, api, worker, temporal, db.dsn))
                finally:
                    worker.stop()
            finally:
                temporal.stop()
            # Read once every process has stopped: the books as an operator would find them the morning after.
            books = read_books(db.dsn, side)
            return report(sale, Checked(books, *boxoffice_check(db.url, tmp / "data")))
    finally:
        if args.keep_logs:
            print(f"logs kept under {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
