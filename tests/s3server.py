"""A real S3 API for tests: moto's server mode in a subprocess on a free loopback port.

``s3_server`` (session) starts ``moto.server`` once and stops it at the end; ``aws_env`` (per test) points the
standard AWS variables at fake credentials and hides any developer's ``~/.aws``; ``s3_bucket`` (per test)
creates a fresh bucket with a plain boto3 client, since production code never creates buckets.
The conftest registers this module as a plugin (``pytest_plugins``), so any test can ask for these fixtures.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

START_TIMEOUT = 60.0  # seconds; moto imports a lot on a cold start, and CI has two shared cores


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server answers and the (fake) credentials and region to sign requests with."""

    endpoint_url: str
    region: str = "us-east-1"
    access_key: str = "testing-access-key"
    secret_key: str = "testing-secret-key"

    def client(self) -> Any:
        """A plain synchronous boto3 S3 client, independent of the code under test, for setup and checks."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto on a free port and wait until it answers HTTP; retry on another port if that one was taken."""
    for _ in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return proc, url
        _stop(proc)  # exited (port raced away) or never answered: try again
    raise RuntimeError(f"moto S3 server did not start; its output is in {log}:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A running moto S3 server for the whole session; stopped (and waited for) afterwards."""
    proc, url = _start(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield S3Server(endpoint_url=url)
    finally:
        _stop(proc)


@pytest.fixture
def aws_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """The standard AWS variables set to the test server's credentials and region, and nothing else of AWS's."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    # A developer's own profiles must neither leak into nor break the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh, empty bucket on the test server; emptied and removed after the test."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):  # the server may already be gone if the session is failing
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket=name, Key=obj["Key"])
            client.delete_bucket(Bucket=name)
        client.close()
