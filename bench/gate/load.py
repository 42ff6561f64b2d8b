"""The scan load: keep-alive connections (``bench.holds``' lean client) posting ``POST /v1/scans`` with a fresh
ticket per request, counted in a fixed window after a warm-up, with the CPU of each process group metered."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass

import httpx

from bench.holds.client import RawConnection, run_async
from bench.holds.load import LoadResult
from bench.measurement import CpuMeter, PidSource, this_process


@dataclass(frozen=True)
class ScanRequests:
    """``POST /v1/scans`` of one event at one gate, pre-encoded but for the payload."""

    host: str
    port: int
    event_id: str

    @classmethod
    def of(cls, base_url: str, event_id: str) -> ScanRequests:
        url = httpx.URL(base_url)
        return cls(host=url.host, port=url.port or 80, event_id=event_id)

    def encoded(self, token: str, gate: str, payload: str) -> bytes:
        body = json.dumps({"payload": payload, "gate_id": gate, "event_id": self.event_id}).encode()
        head = (
            f"POST /v1/scans HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


class ScanResult(LoadResult):
    """A 200 ``admitted`` counts as the holds bench counts a 201; anything else is tallied by result or code."""

    def record(self, status: int, content: bytes) -> None:
        self.statuses[status] += 1
        doc = json.loads(content or b"{}")
        if status != 200 or doc.get("result") != "admitted":
            self.codes[str(doc.get("result") or doc.get("code") or "?")] += 1


async def _load(
    requests: ScanRequests, tokens: list[str], payloads: deque[str], concurrency: int, start: float, end: float
) -> ScanResult:
    result = ScanResult(window_seconds=end - start)

    async def gate(i: int) -> None:
        token, name = tokens[i % len(tokens)], f"gate-{i}"
        conn = RawConnection(requests.host, requests.port)
        try:
            while time.time() < end and payloads:
                raw = requests.encoded(token, name, payloads.popleft())
                t0 = time.time()
                try:
                    status, content = await asyncio.wait_for(conn.request(raw), 30.0)
                except (OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                    result.failed(exc)
                    await conn.close()
                    continue
                t1 = time.time()
                result.record(status, content)
                if status == 200 and start <= t1 <= end and b'"result":"admitted"' in content:
                    result.window_created += 1
                if t0 >= start and t1 <= end:
                    result.window_latencies.append(t1 - t0)
        finally:
            await conn.close()

    await asyncio.gather(*(gate(i) for i in range(concurrency)))
    return result


def run_scans(
    base_url: str,
    event_id: str,
    tokens: list[str],
    payloads: deque[str],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    metered: dict[str, PidSource],
) -> tuple[ScanResult, CpuMeter]:
    """Scan fresh tickets from ``payloads`` (consumed) for ``warmup + duration`` seconds; the window's figures."""
    begin = time.time() + 0.2
    start, end = begin + warmup, begin + warmup + duration
    meter = CpuMeter({"client": this_process, **metered})

    async def both() -> ScanResult:
        async def window() -> None:
            await asyncio.sleep(max(0.0, start - time.time()))
            meter.start()
            await asyncio.sleep(max(0.0, end - time.time()))
            meter.stop()

        scans = _load(ScanRequests.of(base_url, event_id), tokens, payloads, concurrency, start, end)
        return (await asyncio.gather(scans, window()))[0]

    result = run_async(both())
    if not payloads:
        raise RuntimeError("ran out of tickets before the window closed: seed more (--tickets)")
    return result, meter
