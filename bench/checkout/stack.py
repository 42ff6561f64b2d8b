"""The processes of a ``bench.checkout`` run besides the API and Temporal: the worker layouts being measured,
the no-op ceiling's worker, and which of them each CPU figure counts."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.checkout.roles import ACTIVITY_LOG_ENV
from bench.measurement import CpuMeter, PidSource, postgres_pids, this_process
from bench.processes import BOXOFFICE_BIN, ApiServer, Process, TemporalServer, run_process
from bench.seeding import ThrowawayDb
from boxoffice.checkout.contract import SEARCH_ATTRIBUTES

LAYOUTS = {
    "on": "`boxoffice worker` (checkout + documents workers in one process)",
    "off": "the checkout worker alone (no documents worker)",
    "split": "checkout and documents workers in two processes",
}
SEARCH_ATTRIBUTE_NAMES = [key.name for key in SEARCH_ATTRIBUTES]
#: Lets ``python -m bench.checkout`` find ``bench`` from any working directory (the repository is not installed).
PYTHONPATH = {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def role_argv(role: str, *extra: str) -> list[str]:
    """This benchmark's command line in one of its hidden worker roles."""
    return [sys.executable, "-m", "bench.checkout", "--role", role, *extra]


@dataclass
class Stack:
    """Everything a run starts before its workers: where it lives and how to reach it."""

    tmp: Path
    db: ThrowawayDb
    temporal: TemporalServer
    api: ApiServer
    env: dict[str, str]


@dataclass
class WorkerProcesses:
    """The worker process(es) of one fulfilment mode."""

    processes: list[Process]
    activity_log: Path | None

    def pids(self) -> list[int]:
        return [pid for p in self.processes for pid in p.pids()]

    def log_tail(self) -> str:
        return "\n".join(p.log_tail() for p in self.processes)


@contextlib.contextmanager
def boxoffice_workers(stack: Stack, mode: str, extra_env: dict[str, str]) -> Iterator[WorkerProcesses]:
    """``on``: ``boxoffice worker`` as deployed; ``off``: its checkout worker alone; ``split``: its checkout
    and documents workers in two processes (so WeasyPrint does not share the checkout worker's GIL)."""
    layouts = {
        "on": [("worker", [str(BOXOFFICE_BIN), "worker"])],
        "off": [("checkout-worker", role_argv("checkout-worker"))],
        "split": [
            ("checkout-worker", role_argv("checkout-worker")),
            ("documents-worker", role_argv("documents-worker")),
        ],
    }
    log = stack.tmp / f"activities-{mode}.jsonl" if mode != "on" else None
    env = {**stack.env, **PYTHONPATH, **({ACTIVITY_LOG_ENV: str(log)} if log else {}), **extra_env}
    with contextlib.ExitStack() as es:
        procs = [
            es.enter_context(run_process(f"{name}-{mode}", argv, log_dir=stack.tmp, env=env))
            for name, argv in layouts[mode]
        ]
        yield WorkerProcesses(procs, log)


@contextlib.contextmanager
def noop_worker(temporal: TemporalServer, log_dir: Path) -> Iterator[Process]:
    """The no-op ceiling's worker process, on its own task queue of ``temporal``."""
    argv = role_argv("noop-worker", "--temporal-address", temporal.address)
    with run_process("noop-worker", argv, log_dir=log_dir, env=PYTHONPATH) as process:
        yield process


def meter_for(temporal: TemporalServer, worker: PidSource, api: PidSource | None = None) -> CpuMeter:
    """CPU of the bench client (this process), the API if any, the worker(s), Temporal and PostgreSQL."""
    groups: dict[str, PidSource] = {"client": this_process}
    if api is not None:
        groups["api"] = api
    groups.update(worker=worker, temporal=temporal.pids, postgres=postgres_pids)
    return CpuMeter(groups)
