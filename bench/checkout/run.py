"""One ``bench.checkout`` run, start to finish: the database, Temporal and the API, the ceiling, each worker
layout, the report; every process stopped and the database dropped, also on failure."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from bench.checkout.figures import ModeResult, Plan, Run
from bench.checkout.measure import measure_noop, measure_real
from bench.checkout.observe import count_orders, drain
from bench.checkout.report import report
from bench.checkout.stack import LAYOUTS, SEARCH_ATTRIBUTE_NAMES, Stack, boxoffice_workers, noop_worker
from bench.processes import BENCH_PAYLOAD_KEYS, free_port, run_api, run_temporal_dev_server
from bench.seeding import buyer_tokens, new_secret, seed_event, server_setting, throwaway_database
from boxoffice.catalogue.rules import PricingModel, TicketTypeInput
from boxoffice.migrations import upgrade
from boxoffice.ticketing.pdf import font_subsetter

PRICE_CENTS = 15_000


async def seed(url: str) -> uuid.UUID:
    """The bench organisation's event with one fixed-price ticket type that never sells out; its id."""
    general = TicketTypeInput(
        name="General",
        capacity=1_000_000_000,
        pricing_model=PricingModel.FIXED,
        base_price_cents=PRICE_CENTS,
        max_per_order=10,
    )
    _event_id, (tt_id,) = await seed_event(url, [general])
    return tt_id


def plan_of(args: argparse.Namespace) -> Plan:
    return Plan(
        checkouts=args.checkouts,
        warmup_checkouts=args.warmup_checkouts,
        concurrency=list(args.concurrency),
        warmup=args.warmup,
        duration=args.duration,
        quantity=args.quantity,
        observe=args.observe,
        poll_ms=args.poll_ms,
    )


def measure_modes(
    args: argparse.Namespace, stack: Stack, ticket_type_id: uuid.UUID, tokens: list[str], plan: Plan
) -> list[ModeResult]:
    """Each requested worker layout in turn, its workers started and stopped around it."""
    modes: list[ModeResult] = []
    worker_env = dict(kv.split("=", 1) for kv in args.worker_env)
    # "off" leaves fulfilment runs queued that a later documents worker would pick up: run it last.
    for mode in sorted(dict.fromkeys(args.fulfilment), key=lambda m: m == "off"):
        print(f"fulfilment {mode}: {LAYOUTS[mode]} …", flush=True)
        with boxoffice_workers(stack, mode, worker_env) as workers:
            label, fulfils = f"fulfilment {mode}", mode != "off"
            try:
                result = asyncio.run(
                    measure_real(label, stack, workers, str(ticket_type_id), tokens, plan, fulfils=fulfils)
                )
            except Exception:
                print(workers.log_tail(), file=sys.stderr)
                print(stack.api.log_tail(), file=sys.stderr)
                raise
            if fulfils:
                result.drained = drain(stack.db.dsn, args.drain_timeout)
            modes.append(result)
    return modes


def run(args: argparse.Namespace) -> int:
    """Run the benchmark as ``args`` say; the exit status (1 if any checkout failed)."""
    plan = plan_of(args)
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
            subsetter = font_subsetter()
            slow = "" if subsetter == "harfbuzz" else " (slow: apt-get install libharfbuzz-subset0)"
            print(f"PDF font subsetting: {subsetter}{slow}", flush=True)
            upgrade(db.url)
            ticket_type_id = asyncio.run(seed(db.url))
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
                "BOXOFFICE_PAYLOAD_KEYS": BENCH_PAYLOAD_KEYS,
                "BOXOFFICE_LOG_LEVEL": "WARNING",
            }
            (tmp / "data").mkdir()
            noop = ModeResult("no-op ceiling", Run(), {})
            if not args.skip_ceiling:
                print("ceiling: the no-op checkout-shaped workflow …", flush=True)
                with noop_worker(temporal, tmp) as w:
                    noop = asyncio.run(measure_noop(temporal, w, plan))
            with run_api(
                db.url, jwt_secret=secret, workers=args.api_workers, extra_env=env, port=port, data_dir=tmp / "data"
            ) as api:
                modes = measure_modes(args, Stack(tmp, db, temporal, api, env), ticket_type_id, tokens, plan)
            print(f"orders by status: {count_orders(db.dsn)}")
            return report(plan, noop, modes)
    finally:
        if args.keep_logs:
            print(f"logs kept under {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
