"""`boxoffice dev` (what `make run` runs) and `boxoffice demo`, as real processes on free ports.

The demo finds the stack by its data directory alone (``--data-dir``: the run file ``dev.json`` says where the
stack runs; the directory holds the secret its tokens are signed with), and a worker killed under ``boxoffice dev``
is restarted instead of stopping the stack (issue 10: before, the demo signed with ``.boxoffice``'s secret and got
401, printed the UI link on :8233 whatever ``--ui-port`` was, and a dead worker stopped the whole stack).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BOXOFFICE = str(Path(sys.executable).parent / "boxoffice")
TEMPORAL = str(Path(sys.executable).parent / "temporal")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"


def worker_pids(dev_pid: int) -> set[int]:
    """The ``boxoffice worker`` processes under ``boxoffice dev``."""
    found = set()
    for pid in descendants(dev_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and alive(pid):
            found.add(pid)
    return found


def run_demo(data_dir: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``boxoffice demo --data-dir D`` from another directory, with nothing else to go on."""
    env = {k: v for k, v in env.items() if k != "BOXOFFICE_DATA_DIR"}
    return subprocess.run(
        [BOXOFFICE, "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_dev_stack_runs_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    api, tport, ui = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env["BOXOFFICE_DATA_DIR"] = str(tmp_path)
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [
            BOXOFFICE,
            "dev",
            "--port",
            str(api),
            "--temporal-port",
            str(tport),
            "--ui-port",
            str(ui),
            "--data-dir",
            str(tmp_path),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        while b"Boxoffice is running" not in (tmp_path / "dev.log").read_bytes():
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.25)
        banner = (tmp_path / "dev.log").read_text()
        assert f"http://127.0.0.1:{api}/docs" in banner and f"http://127.0.0.1:{ui}/" in banner
        assert "Demo buyer token" in banner
        assert httpx.get(f"http://127.0.0.1:{api}/readyz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ui}/").status_code == 200
        schedules = subprocess.run(
            [TEMPORAL, "schedule", "list", "--address", f"127.0.0.1:{tport}"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        assert "hold-expiry-sweeper" in schedules and "webhook-relay" in schedules

        elsewhere = tmp_path / "elsewhere"  # no .boxoffice here: everything comes from --data-dir
        elsewhere.mkdir()
        assert (tmp_path / "dev.json").exists()
        demo = run_demo(tmp_path, env, elsewhere)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "status:       fulfilled" in demo.stdout
        assert f"Temporal UI:  http://127.0.0.1:{ui}/namespaces/default/workflows/checkout-" in demo.stdout
        assert not (elsewhere / ".boxoffice").exists()
        order_id = next(line.split()[-1] for line in demo.stdout.splitlines() if line.startswith("order id:"))
        assert (tmp_path / "storage" / "orders" / order_id / "tickets.pdf").read_bytes().startswith(b"%PDF")
        assert (tmp_path / "outbox" / f"confirmation.{order_id}.eml").exists()
        shown = subprocess.run(
            [TEMPORAL, "workflow", "describe", "--address", f"127.0.0.1:{tport}", "-w", f"checkout-{order_id}"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        assert "BoxofficeOrderId" in shown and "COMPLETED" in shown.upper()

        # The worker dies: boxoffice dev starts another one, and the stack keeps selling.
        (killed,) = worker_pids(dev.pid)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (replacement := worker_pids(dev.pid) - {killed}):
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.25)
        assert dev.poll() is None and "restart" in (tmp_path / "dev.log").read_text()
        again = run_demo(tmp_path, env, elsewhere)
        assert again.returncode == 0 and "status:       fulfilled" in again.stdout, again.stdout + again.stderr
        assert worker_pids(dev.pid) == replacement

        children = descendants(dev.pid)
        assert len(children) >= 3  # temporal, worker, api
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(timeout=60)
        finally:
            log.close()
    assert dev.returncode == 0
    assert not (tmp_path / "dev.json").exists()
    time.sleep(0.5)
    assert not [p for p in children if alive(p)], "boxoffice dev left processes behind"
