"""The processes of a flash sale and the faults done to them: a Temporal dev server that can be restarted with its
state (same ports, same ``--db-filename``), ``boxoffice worker`` that can be SIGKILLed and started again, and the
providers' local fakes the API and the worker talk to."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.processes import BOXOFFICE_BIN, Process, accepts_tcp, free_port, run_process, stop_process_group
from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.devstack import temporal_binary
from tests.fakes import PaystackFake, StripeFake, YocoFake, running


@dataclass
class Restartable:
    """A process (group) that can be stopped, killed and started again; each start logs to its own file."""

    name: str
    log_dir: Path
    env: dict[str, str]
    starts: int = 0
    current: Process | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self, process: Process) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> float:
        """Start a new incarnation and wait until it is ready; the seconds that took."""
        t0 = time.monotonic()
        self.starts += 1
        self._stack = contextlib.ExitStack()
        name = f"{self.name}-{self.starts}"
        process = self._stack.enter_context(run_process(name, self.argv(), log_dir=self.log_dir, env=self.env))
        self.current = process
        process.wait_ready(lambda: self.ready(process), "ready", timeout=timeout)
        return time.monotonic() - t0

    def sigkill(self) -> None:
        """SIGKILL the whole process group (the process and any child it started), as a crash would."""
        assert self.current is not None and self.current.proc.poll() is None, f"{self.name} is not running"
        os.killpg(self.current.proc.pid, signal.SIGKILL)
        self.current.proc.wait(timeout=10)
        self._stack.close()

    def stop(self) -> None:
        """SIGTERM the process group and wait for it (SIGKILL if it lingers)."""
        if self.current is not None:
            stop_process_group(self.current.proc, grace=20)
        self._stack.close()

    def pids(self) -> list[int]:
        return self.current.pids() if self.current is not None and self.current.proc.poll() is None else []


class TemporalDev(Restartable):
    """``temporal server start-dev`` on fixed ports with its state in a file, so a restart keeps every run."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__("temporal", state_dir, {})
        self.host, self.port = "127.0.0.1", free_port()
        self.http_port, self.metrics_port = free_port(), free_port()
        self.db_file = state_dir / "temporal.db"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def argv(self) -> list[str]:
        args = [temporal_binary(), "server", "start-dev", "--ip", self.host, "--port", str(self.port)]
        args += ["--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port), "--headless"]
        args += ["--db-filename", str(self.db_file), "--log-level", "warn"]
        for attr in SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{attr.name}=Keyword"]
        return args

    def ready(self, process: Process) -> bool:
        return accepts_tcp(self.host, self.port)


class Worker(Restartable):
    """``boxoffice worker`` exactly as deployed (checkout and documents workers, Schedules, fulfilment)."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        # INFO for its one start-up line ("worker started"): the worker logs nothing per checkout at INFO.
        super().__init__("worker", log_dir, {**env, "BOXOFFICE_LOG_LEVEL": "INFO"})

    def argv(self) -> list[str]:
        return [str(BOXOFFICE_BIN), "worker"]

    def ready(self, process: Process) -> bool:
        return "worker started" in process.log_tail(200)


@dataclass
class Fakes:
    """The providers' local fakes, served over real HTTP from this process."""

    paystack: PaystackFake
    yoco: YocoFake
    stripe: StripeFake

    def by_name(self) -> dict[str, Any]:
        return {"paystack": self.paystack, "yoco": self.yoco, "stripe": self.stripe}

    def env(self) -> dict[str, str]:
        """The ``BOXOFFICE_*`` settings that point the API and the worker at the fakes."""
        return {
            "BOXOFFICE_PAYSTACK_SECRET_KEY": self.paystack.secret_key,
            "BOXOFFICE_PAYSTACK_BASE_URL": self.paystack.base_url,
            "BOXOFFICE_YOCO_SECRET_KEY": self.yoco.secret_key,
            "BOXOFFICE_YOCO_WEBHOOK_SECRET": self.yoco.webhook_secret,
            "BOXOFFICE_YOCO_BASE_URL": self.yoco.api_url,
            "BOXOFFICE_STRIPE_SECRET_KEY": self.stripe.secret_key,
            "BOXOFFICE_STRIPE_WEBHOOK_SECRET": self.stripe.webhook_secret,
            "BOXOFFICE_STRIPE_BASE_URL": self.stripe.api_url,
        }

    def point_webhooks_at(self, api_url: str) -> None:
        """Webhooks go to the API, but only when the bench lets them: each is held until it decides its fate."""
        for name, fake in self.by_name().items():
            fake.webhook_url = f"{api_url}/v1/webhooks/{name}"
            fake.hold_webhooks = True


@contextlib.contextmanager
def provider_fakes() -> Iterator[Fakes]:
    """Paystack, Yoco (a live key: refunds work) and Stripe fakes, each on its own port, stopped afterwards."""
    with running(PaystackFake()) as paystack, running(YocoFake()) as yoco, running(StripeFake()) as stripe:
        yield Fakes(paystack, yoco, stripe)
