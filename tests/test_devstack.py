"""`boxoffice dev` (what `make run` runs) and `boxoffice demo`, as real processes on free ports."""

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

        demo = subprocess.run(
            [BOXOFFICE, "demo", "--api", f"http://127.0.0.1:{api}", "--ui", f"http://127.0.0.1:{ui}"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "status:       fulfilled" in demo.stdout
        order_id = next(line.split()[-1] for line in demo.stdout.splitlines() if line.startswith("order id:"))
        assert (tmp_path / "storage" / "orders" / order_id / "tickets.pdf").read_bytes().startswith(b"%PDF")
        assert (tmp_path / "outbox" / f"tickets-{order_id}.eml").exists()
        shown = subprocess.run(
            [TEMPORAL, "workflow", "describe", "--address", f"127.0.0.1:{tport}", "-w", f"checkout-{order_id}"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        assert "BoxofficeOrderId" in shown and "COMPLETED" in shown.upper()

        children = descendants(dev.pid)
        assert len(children) >= 3  # temporal, worker, api
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(timeout=60)
        finally:
            log.close()
    assert dev.returncode == 0
    time.sleep(0.5)
    assert not [p for p in children if alive(p)], "boxoffice dev left processes behind"
