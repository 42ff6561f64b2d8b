"""The processes a benchmark starts: any command in its own session with its log, ``boxoffice api``, and a
headless Temporal dev server; each stopped (its whole process group) when its ``with`` block ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.measurement import descendants
from boxoffice.devstack import temporal_binary

BOXOFFICE_BIN = Path(sys.executable).parent / "boxoffice"
# Issue 11: the payload key every process and client of a throwaway benchmark stack shares (never used elsewhere).
BENCH_PAYLOAD_KEYS = "bench:QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    """A process (group) a benchmark started, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The process's own pid and every descendant (e.g. uvicorn's worker processes)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, ready: Callable[[], bool], what: str, *, timeout: float) -> None:
        """Poll ``ready()`` until it is true; raise (after printing this process's log tail to stderr) if the
        process exits first or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                print(self.log_tail(), file=sys.stderr)
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before {what}")
            if ready():
                return
            time.sleep(0.1)
        print(self.log_tail(), file=sys.stderr)
        raise TimeoutError(f"{self.name}: not {what} within {timeout}s")


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


@contextlib.contextmanager
def run_process(
    name: str, argv: Sequence[str], *, log_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[Process]:
    """Start ``argv`` in its own session (output to ``log_dir/<name>.log``, environment ``os.environ`` plus
    ``env``) and stop its group afterwards."""
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


def answers_200(url: str) -> bool:
    """Whether ``url`` answers 200 right now."""
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def accepts_tcp(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


# The API -----------------------------------------------------------------------------------------------


@dataclass
class ApiServer:
    """A running ``boxoffice api`` process (group) and where it listens."""

    process: Process
    base_url: str
    workers: int

    def pids(self) -> list[int]:
        """The API's own pid and every descendant (uvicorn's worker processes)."""
        return self.process.pids()

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines)


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
    with contextlib.ExitStack() as cleanup:
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="boxoffice-bench-"))
            cleanup.callback(shutil.rmtree, data_dir, ignore_errors=True)
        env = {
            "BOXOFFICE_ENV": "test",
            "BOXOFFICE_DATABASE_URL": database_url,
            "BOXOFFICE_JWT_SECRET": jwt_secret,
            "BOXOFFICE_DATA_DIR": str(data_dir),
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_PAYLOAD_KEYS": BENCH_PAYLOAD_KEYS,
            # An address nothing listens on: holds never need Temporal, and the API connects lazily.
            "BOXOFFICE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            # A benchmark's few tokens take every seat: the per-buyer hold caps are off unless a caller sets them.
            "BOXOFFICE_BUYER_HOLD_LIMIT_PER_TICKET_TYPE": "0",
            "BOXOFFICE_BUYER_HOLD_LIMIT_PER_EVENT": "0",
            # One pooled connection per client connection of the benchmarks (16): beyond the pool, each request
            # would open and close a PostgreSQL connection of its own (SQLAlchemy does not keep its overflow).
            "BOXOFFICE_DATABASE_POOL_SIZE": "16",
            **(extra_env or {}),
        }
        argv = [str(BOXOFFICE_BIN), "api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        process = cleanup.enter_context(run_process(f"api-{port}", argv, log_dir=data_dir, env=env))
        server = ApiServer(process=process, base_url=f"http://127.0.0.1:{port}", workers=workers)
        health = server.base_url + "/healthz"
        process.wait_ready(lambda: answers_200(health), f"{health} answered 200", timeout=startup_timeout)
        if workers > 1:  # /healthz answered from one worker; give the others a moment to bind too
            time.sleep(1.0)
        yield server


# A Temporal dev server ---------------------------------------------------------------------------------


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
        process.wait_ready(
            lambda: accepts_tcp(host, port), f"{host}:{port} accepted connections", timeout=startup_timeout
        )
        yield TemporalServer(process=process, address=f"{host}:{port}")
