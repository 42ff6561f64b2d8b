"""The load client of ``bench.holds``: a lean keep-alive HTTP/1.1 connection, pre-encoded ``POST /v1/holds``
requests, and a tally of the answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (as uvicorn does), else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client connection: pre-encoded requests, Content-Length responses.

    It costs the shared CPUs a fraction of what httpx does per request, so on a small machine more of the
    cores go to the API under test. Use ``--client httpx`` for the stock client.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one pre-encoded request and return (status, body); reconnects once if the server closed."""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, close = None, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length is None:
                raise RuntimeError("response without Content-Length (chunked is not supported by the raw client)")
            body = await self.reader.readexactly(length)
            if close:
                await self.close()
            return status, body
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@dataclass(frozen=True)
class HoldRequests:
    """``POST /v1/holds`` for one seat of one ticket type, and the API it goes to."""

    base_url: str
    host: str
    port: int
    body: bytes

    @classmethod
    def of(cls, base_url: str, ticket_type_id: uuid.UUID | str) -> HoldRequests:
        url = httpx.URL(base_url)
        body = json.dumps({"ticket_type_id": str(ticket_type_id), "quantity": 1}).encode()
        return cls(base_url=base_url, host=url.host, port=url.port or 80, body=body)

    def encoded(self, token: str) -> bytes:
        """The whole request as ``token``'s buyer sends it over a :class:`RawConnection`."""
        return (
            f"POST /v1/holds HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        ).encode() + self.body

    def health_check(self) -> bytes:
        """``GET /healthz``, to prove a connection open before the load starts."""
        return f"GET /healthz HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()

    def connection(self) -> RawConnection:
        return RawConnection(self.host, self.port)


@dataclass
class Answers:
    """What the client got back: statuses, the problem codes of the non-201s, and transport errors by type."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def record(self, status: int, content: bytes) -> None:
        self.statuses[status] += 1
        if status != 201:
            self.codes[str(json.loads(content or b"{}").get("code", "?"))] += 1

    def failed(self, exc: BaseException) -> None:
        """A request without an answer: it may or may not have been applied (the database decides)."""
        self.errors[type(exc).__name__] += 1

    def merge(self, other: Answers) -> None:
        self.statuses.update(other.statuses)
        self.codes.update(other.codes)
        self.errors.update(other.errors)

    @property
    def created(self) -> int:
        return self.statuses[201]
