"""Boxoffice as it is deployed, for tests: ``boxoffice api`` and ``boxoffice worker`` as real OS processes, several of
each, on one PostgreSQL database and one Temporal server of their own, configured only through the environment.

``Stack`` starts and stops them; ``Metrics`` reads a Prometheus endpoint (with ``prometheus_client``'s own parser).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from boxoffice.config import Settings

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on right now (the process that gets it binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(settings: Settings, temporal_address: str, **extra: str) -> dict[str, str]:
    """The environment of a Boxoffice process with ``settings`` (as an operator would write it), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOXOFFICE_", "OTEL_"))}
    env.update(
        {
            "BOXOFFICE_ENV": "test",
            "BOXOFFICE_DATA_DIR": str(settings.data_dir),
            "BOXOFFICE_DATABASE_URL": settings.database_url,
            "BOXOFFICE_TEMPORAL_ADDRESS": temporal_address,
            "BOXOFFICE_CHECKOUT_TASK_QUEUE": settings.checkout_task_queue,
            "BOXOFFICE_DOCUMENTS_TASK_QUEUE": settings.documents_task_queue,
            "BOXOFFICE_JWT_SECRET": settings.jwt_secret,
            "BOXOFFICE_SANDBOX_WEBHOOK_SECRET": settings.sandbox_webhook_secret,
            "BOXOFFICE_PAYLOAD_KEYS": settings.payload_keys,
            "BOXOFFICE_SIGNING_KEY_FILE": str(settings.signing_key_file),
            "BOXOFFICE_PUBLIC_URL": settings.public_url,
            "BOXOFFICE_PAYMENT_WINDOW_SECONDS": str(settings.payment_window_seconds),
            "BOXOFFICE_PAYMENT_POLL_INTERVAL_SECONDS": str(settings.payment_poll_interval_seconds),
            "BOXOFFICE_LATE_PAYMENT_GRACE_SECONDS": "0",
            "BOXOFFICE_LOG_LEVEL": "INFO",
            # Five processes beside the suite's own pools and other sessions on one PostgreSQL (max_connections
            # 100): at most 6 connections each.
            "BOXOFFICE_DATABASE_POOL_SIZE": "3",
            **extra,
        }
    )
    return env


@dataclass
class Process:
    """One ``boxoffice …`` command, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str
    ready_text: str | None = None  # a line its log must show as well (a worker: "worker started")
    proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 60) -> None:
        """Start it and wait until ``ready_url`` answers 200 (and the log shows ``ready_text``)."""
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert self.proc.returncode is None, f"{self.name} exited {self.proc.returncode}:\n{self.output()}"
                assert time.monotonic() < deadline, f"{self.name} did not become ready:\n{self.output()}"
                try:
                    answered = (await http.get(self.ready_url)).status_code == 200
                except httpx.HTTPError:
                    answered = False
                if answered and (self.ready_text is None or self.ready_text in self.output(limit=None)):
                    return
                await asyncio.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def sigkill(self) -> None:
        """Kill it outright: what it had in flight dies with it."""
        assert self.proc is not None and self.proc.returncode is None, f"{self.name} died before the kill"
        os.kill(self.proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(self.proc.wait(), 10) == -signal.SIGKILL

    async def stop(self) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it has not stopped within 15 s."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 10)

    def output(self, limit: int | None = 6000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text if limit is None else text[-limit:]


@dataclass
class Stack:
    """API and worker processes sharing one environment; stopped newest first."""

    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    async def api(self, name: str, port: int) -> Process:
        argv = [str(BIN / "boxoffice"), "api", "--host", "127.0.0.1", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        return await self._start(Process(name, argv, self.env, self.log_dir / f"{name}.log", f"{url}/readyz"))

    async def worker(self, name: str, queues: str, metrics_port: int, sdk_metrics_port: int) -> Process:
        argv = [str(BIN / "boxoffice"), "worker", "--queues", queues]
        env = {
            **self.env,
            "BOXOFFICE_METRICS_PORT": str(metrics_port),
            "BOXOFFICE_SDK_METRICS_PORT": str(sdk_metrics_port),
        }
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        return await self._start(Process(name, argv, env, self.log_dir / f"{name}.log", url, "worker started"))

    async def _start(self, process: Process) -> Process:
        self.processes.append(process)
        await process.start()
        return process

    async def stop(self) -> None:
        for process in reversed(self.processes):
            await process.stop()

    def outputs(self) -> str:
        return "\n".join(
            f"--- {p.name} (pid {p.proc.pid if p.proc else '-'}) ---\n{p.output()}" for p in self.processes
        )


@dataclass(frozen=True)
class Metrics:
    """One scrape of a Prometheus endpoint: sample values by name and labels."""

    samples: list[tuple[str, dict[str, str], float]]

    @classmethod
    async def scrape(cls, url: str) -> Metrics:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(url)
        assert r.status_code == 200, (url, r.status_code)
        return cls(
            [
                (s.name, dict(s.labels), s.value)
                for family in text_string_to_metric_families(r.text)
                for s in family.samples
            ]
        )

    def names(self) -> set[str]:
        return {name for name, _labels, _value in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 when there are none)."""
        return sum(v for n, ls, v in self.samples if n == name and labels.items() <= ls.items())


def total(scrapes: Iterable[Metrics], name: str, **labels: str) -> float:
    """``name`` (with ``labels``) added up over several processes' scrapes, as Prometheus would with ``sum``."""
    return sum(m.value(name, **labels) for m in scrapes)
