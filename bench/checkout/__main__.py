"""``python -m bench.checkout``: its options, and its hidden roles as the worker processes a run starts.

A role imports only what its process runs, so a worker starts without the benchmark's own modules.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import bench.checkout


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    description = (bench.checkout.__doc__ or "").split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m bench.checkout", description=description)
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
        from bench.noop_checkout import noop_worker_main

        asyncio.run(noop_worker_main(args.temporal_address))
        return 0
    if args.role in ("checkout-worker", "documents-worker"):
        from bench.checkout.roles import bench_worker_main

        asyncio.run(bench_worker_main(args.role.removesuffix("-worker")))
        return 0
    from bench.checkout.run import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
