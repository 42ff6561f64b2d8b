"""Every HTTP call the bench makes, bounded and timed: at most ``limit`` requests in flight (the crowd is bounded,
and local only), each recorded with its label, status (0: no answer), problem code and latency.

The connections are spread over several small clients: one httpx client with hundreds of connections spends its
time scanning its own pool (httpcore assigns requests to connections in O(connections) per request), which made
the bench, not the service, the bottleneck."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

PER_CLIENT = 8  # connections per client


@dataclass(frozen=True)
class Call:
    label: str
    status: int  # 0 when the request got no answer (connection refused, timeout)
    at: float  # wall-clock start
    seconds: float
    code: str = ""  # a problem's ``code`` (4xx, 5xx)


class Http:
    """Clients of ``PER_CLIENT`` connections each, ``limit`` connections in all. A request waits for a free
    connection before its clock starts, so its latency does not include waiting for the bench's own bound."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self.calls: list[Call] = []
        self._free: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(clients)):
            for _ in range(PER_CLIENT):
                self._free.put_nowait(i)

    async def request(self, label: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """The response, or None when none came; recorded either way."""
        slot = await self._free.get()
        try:
            t0 = time.time()
            try:
                response = await self.clients[slot].request(method, url, **kwargs)
            except httpx.HTTPError:
                self.calls.append(Call(label, 0, t0, time.time() - t0))
                return None
            seconds = time.time() - t0
            self.calls.append(Call(label, response.status_code, t0, seconds, _code(response)))
            return response
        finally:
            self._free.put_nowait(slot)


@contextlib.asynccontextmanager
async def http_clients(base_url: str, limit: int) -> AsyncIterator[Http]:
    """``Http`` over ``limit`` connections to ``base_url``, closed afterwards."""
    limits = httpx.Limits(max_connections=PER_CLIENT, max_keepalive_connections=PER_CLIENT)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits))
            for _ in range(max(1, -(-limit // PER_CLIENT)))
        ]
        yield Http(clients)


def _code(response: httpx.Response) -> str:
    if response.status_code < 400 or "json" not in response.headers.get("content-type", ""):
        return ""
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""
