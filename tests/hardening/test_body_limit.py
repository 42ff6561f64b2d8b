"""Every request body is bounded (``BOXOFFICE_MAX_BODY_BYTES``, 1 MiB by default): beyond it, 413 problem+json
``payload_too_large`` before anything reads the rest, webhooks and unauthenticated requests included.

Before issue 10 nothing bounded a body: the audit's 200 MB POST to ``/v1/webhooks/sandbox`` took the API from
172 MB to 581 MB before its 401. These tests failed there: the declared-length and streamed cases read the whole
body (and answered 401 or 422, not 413), and the API process grew by about twice the body.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boxoffice.api.app import create_app
from boxoffice.config import Settings
from tests.harness import JWT_SECRET, Tokens

LIMIT = 64 * 1024
CHUNK = 8 * 1024


class Stream:
    """A request body made on demand, counting what the server pulled."""

    def __init__(self, total: int, chunk: int = CHUNK):
        self.total, self.chunk, self.sent = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            piece = b"x" * min(self.chunk, self.total - self.sent)
            self.sent += len(piece)
            yield piece


@pytest.fixture
async def small(settings: Settings, app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 64 KiB body limit (the limit is a setting)."""
    settings.max_body_bytes = LIMIT
    limited = create_app(settings, db=app.state.db, temporal=await app.state.temporal.get())
    async with limited.router.lifespan_context(limited):
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


def assert_413(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "payload_too_large" and body["status"] == 413 and body["limit"] == LIMIT


@pytest.mark.parametrize("path", ["/v1/webhooks/sandbox", "/v1/webhooks/stripe", "/v1/events", "/v1/checkouts"])
async def test_a_declared_length_beyond_the_limit_is_refused_unread(small: httpx.AsyncClient, path: str) -> None:
    body = Stream(10 * 1024 * 1024)
    r = await small.post(path, content=body, headers={"content-length": str(body.total)})  # no token at all
    assert_413(r)
    assert body.sent == 0  # refused on the header alone: not one byte was read


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/webhooks/sandbox", "application/json"),
        ("/v1/events", "application/json"),
        ("/sandbox/pay/bo-x?sig=x", "application/x-www-form-urlencoded"),  # a form, parsed by python-multipart
    ],
)
async def test_a_streamed_body_is_cut_off_at_the_limit(
    small: httpx.AsyncClient, path: str, content_type: str, tokens: Tokens
) -> None:
    body = Stream(10 * 1024 * 1024)
    headers = {**tokens.admin(), "content-type": content_type}
    r = await small.post(path, content=body, headers=headers)  # chunked: no Content-Length
    assert_413(r)
    assert body.sent <= LIMIT + CHUNK  # never read past the limit (plus the chunk that crossed it)


async def test_bodies_within_the_limit_pass(small: httpx.AsyncClient, tokens: Tokens) -> None:
    event = {
        "name": "x" * 200,
        "starts_at": "2030-01-01T19:00:00Z",
        "ends_at": "2030-01-01T22:00:00Z",
        "currency": "ZAR",
        "venue": "v" * 300,
    }
    r = await small.post("/v1/events", json=event, headers=tokens.admin())
    assert r.status_code == 201, r.text
    streamed = Stream(LIMIT)  # exactly the limit, streamed: read to the end and judged on its content
    r = await small.post("/v1/webhooks/sandbox", content=streamed)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert streamed.sent == LIMIT


async def test_the_default_limit_is_one_mebibyte(api: httpx.AsyncClient, settings: Settings) -> None:
    assert settings.max_body_bytes == 1024 * 1024
    r = await api.post("/v1/webhooks/sandbox", content=b"{}" + b" " * (1024 * 1024))
    assert r.status_code == 413 and r.json()["limit"] == 1024 * 1024


# The real process: its memory does not grow with what a client sends. -----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def api_process(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, int]]:
    """``boxoffice api`` as deployed (uvicorn, the default 1 MiB limit), without Temporal."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(
        BOXOFFICE_ENV="test",
        BOXOFFICE_DATA_DIR=str(tmp_path),
        BOXOFFICE_DATABASE_URL=pg_url,
        BOXOFFICE_JWT_SECRET=JWT_SECRET,
        BOXOFFICE_TEMPORAL_ADDRESS=f"127.0.0.1:{_free_port()}",
        BOXOFFICE_LOG_LEVEL="WARNING",
    )
    boxoffice = str(Path(sys.executable).parent / "boxoffice")
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen([boxoffice, "api", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_200_mb_upload_does_not_grow_the_api(api_process: tuple[str, int]) -> None:
    base, pid = api_process
    for _ in range(3):  # warm up: the first requests load code and fill caches
        httpx.post(f"{base}/v1/webhooks/sandbox", content=b"{}")
    before = _rss_kib(pid)
    total = 200 * 1024 * 1024
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        piece = b"x" * (1024 * 1024)
        while sent < total:
            sent += len(piece)
            yield piece

    with httpx.Client(timeout=120) as client:
        # Streamed (chunked), unauthenticated, to the webhook endpoint, as in the audit.
        r = client.post(f"{base}/v1/webhooks/sandbox", content=chunks())
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
        # Declared: answered from the header.
        r = client.post(f"{base}/v1/webhooks/sandbox", content=b"x" * (8 * 1024 * 1024))
        assert r.status_code == 413
        after = _rss_kib(pid)
        # The connection is still good for the next request.
        assert client.get(f"{base}/healthz").status_code == 200
    assert sent == total  # the client sent it all; the server dropped what came past the limit
    grown_mib = (after - before) / 1024
    print(f"API RSS {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB after a 200 MiB upload")
    assert grown_mib < 32, f"the API grew by {grown_mib:.0f} MiB for a 200 MiB body (before {before} KiB)"
