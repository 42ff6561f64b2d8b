"""Start-up errors are one line naming the cause, and a non-zero exit, for the real commands.

Before issue 10: ``boxoffice worker`` with Temporal unreachable or its namespace missing printed a 38-line
traceback; ``boxoffice api`` started with a missing namespace and answered every checkout with a 500 (a traceback
in its log per request); ``boxoffice api`` on a taken port logged uvicorn's error among info lines; and
``boxoffice dev`` with its API port taken printed "Boxoffice is running" (the other server answered its readiness
check) before exiting. Each test here failed there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from boxoffice.devstack import port_in_use

BOXOFFICE = str(Path(sys.executable).parent / "boxoffice")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def env_for(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_DATA_DIR=str(tmp_path / "data"), BOXOFFICE_ENV="test", **values)
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BOXOFFICE, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The process failed with exactly one line on stderr (and no traceback anywhere)."""
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output and "panicked" not in output, output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def address_of(env: WorkflowEnvironment) -> str:
    return str(env.client.service_client.config.target_host)


def test_worker_with_temporal_unreachable(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    line = one_line(run(["worker"], env_for(tmp_path, BOXOFFICE_TEMPORAL_ADDRESS=address), tmp_path))
    assert line.startswith("boxoffice worker: Temporal is unreachable at") and address in line
    assert "BOXOFFICE_TEMPORAL_ADDRESS" in line


def test_worker_with_a_missing_namespace(tmp_path: Path, temporal_env: WorkflowEnvironment) -> None:
    env = env_for(tmp_path, BOXOFFICE_TEMPORAL_ADDRESS=address_of(temporal_env), BOXOFFICE_TEMPORAL_NAMESPACE="nope")
    line = one_line(run(["worker"], env, tmp_path))
    assert line.startswith("boxoffice worker: the Temporal namespace 'nope' does not exist")
    assert "BOXOFFICE_TEMPORAL_NAMESPACE" in line


def test_api_with_a_missing_namespace(tmp_path: Path, temporal_env: WorkflowEnvironment) -> None:
    env = env_for(tmp_path, BOXOFFICE_TEMPORAL_ADDRESS=address_of(temporal_env), BOXOFFICE_TEMPORAL_NAMESPACE="nope")
    line = one_line(run(["api", "--port", str(free_port())], env, tmp_path))
    assert line.startswith("boxoffice api: the Temporal namespace 'nope' does not exist")


def test_api_on_a_taken_port(tmp_path: Path, taken_port: int) -> None:
    env = env_for(tmp_path, BOXOFFICE_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    line = one_line(run(["api", "--port", str(taken_port)], env, tmp_path))
    assert line == f"boxoffice api: 127.0.0.1:{taken_port} is already in use (--host, --port)"


def test_api_with_temporal_down_still_starts_and_says_so(tmp_path: Path) -> None:
    """By design (README, the holds benchmark): the API serves without Temporal and answers /readyz 503."""
    port, address = free_port(), f"127.0.0.1:{free_port()}"
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [BOXOFFICE, "api", "--port", str(port)],
            env=env_for(tmp_path, BOXOFFICE_TEMPORAL_ADDRESS=address),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(240):
                assert proc.poll() is None, log.read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 503:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
            else:
                raise AssertionError(log.read_text())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    first = log.read_text().splitlines()[0]
    assert first.startswith(f"boxoffice api: Temporal is unreachable at {address}") and "starting anyway" in first


def test_dev_with_its_api_port_taken(tmp_path: Path, taken_port: int) -> None:
    argv = ["dev", "--port", str(taken_port), "--temporal-port", str(free_port()), "--ui-port", str(free_port())]
    done = run([*argv, "--data-dir", str(tmp_path / "data")], env_for(tmp_path), tmp_path, timeout=120)
    assert "Boxoffice is running" not in done.stdout
    line = one_line(done)
    assert line.startswith("boxoffice dev: already in use:") and f"127.0.0.1:{taken_port} (--port)" in line
    assert not (tmp_path / "data" / "temporal.db").exists()  # refused before starting anything


def test_port_in_use(taken_port: int) -> None:
    assert port_in_use("127.0.0.1", taken_port)
    assert not port_in_use("127.0.0.1", free_port())
