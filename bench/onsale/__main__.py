"""``python -m bench.onsale``: its options."""

from __future__ import annotations

import argparse
import sys

import bench.onsale


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    description = (bench.onsale.__doc__ or "").split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m bench.onsale", description=description)
    p.add_argument("--buyers", type=int, default=2000, help="simulated buyers (default 2000)")
    p.add_argument("--seats", type=int, default=300, help="seats on sale, a fifth of them front row (default 300)")
    p.add_argument("--concurrency", type=int, default=500, help="requests in flight at most (default 500)")
    p.add_argument("--rush", type=float, default=3.0, help="seconds over which the buyers arrive (default 3)")
    p.add_argument("--sale-seconds", type=float, default=120.0, help="buyers look for seats this long (default 120)")
    p.add_argument("--hold-attempts", type=int, default=8, help="holds a buyer tries at most (default 8)")
    p.add_argument(
        "--kill-at", type=float, nargs="*", default=[10.0, 40.0, 75.0], help="worker SIGKILLs, s after opening"
    )
    p.add_argument(
        "--temporal-restart-at", type=float, nargs="*", default=[58.0], help="Temporal restarts, s after opening"
    )
    p.add_argument("--restart-pause", type=float, default=2.0, help="seconds a killed worker stays down (default 2)")
    p.add_argument("--payment-window", type=int, default=40, help="BOXOFFICE_PAYMENT_WINDOW_SECONDS (default 40)")
    p.add_argument("--poll-interval", type=int, default=10, help="BOXOFFICE_PAYMENT_POLL_INTERVAL_SECONDS (default 10)")
    p.add_argument("--hold-ttl", type=int, default=120, help="BOXOFFICE_HOLD_TTL_SECONDS (default 120)")
    p.add_argument("--late-grace", type=int, default=60, help="BOXOFFICE_LATE_PAYMENT_GRACE_SECONDS (default 60)")
    p.add_argument("--settle-timeout", type=float, default=240.0, help="seconds to wait for runs to end (default 240)")
    p.add_argument("--seed", type=int, default=7, help="the crowd's random seed (default 7)")
    p.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with every process's log")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from bench.onsale.run import run

    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
