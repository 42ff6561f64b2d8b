"""The oversell check of ``bench.holds``: many holds fired at once at a small ticket type, and the inventory
the database shows afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import psycopg

from bench.holds.client import Answers, HoldRequests, RawConnection, run_async


@dataclass(frozen=True)
class Inventory:
    """A ticket type's counters and its active holds, as the database shows them."""

    capacity: int
    held: int
    sold: int
    active_holds: int
    active_quantity: int

    def oversells(self, expected_held: int | None = None) -> int:
        """Seats handed out beyond capacity, or beyond/short of what the holds and the client account for."""
        over = max(0, self.held + self.sold - self.capacity)
        if self.held != self.active_quantity:
            over = max(over, abs(self.held - self.active_quantity))
        if expected_held is not None and self.held != expected_held:
            over = max(over, abs(self.held - expected_held))
        return over


def inventory(dsn: str, ticket_type_id: uuid.UUID) -> Inventory:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT t.capacity, t.held, t.sold, count(h.id), coalesce(sum(h.quantity), 0) "
            "FROM ticket_types t LEFT JOIN holds h ON h.ticket_type_id = t.id AND h.status = 'active' "
            "WHERE t.id = %s GROUP BY t.id",
            (ticket_type_id,),
        ).fetchone()
    assert row is not None
    return Inventory(*(int(v) for v in row))


@dataclass(frozen=True)
class OversellOutcome:
    """What a burst at ``capacity`` seats got back, and the inventory after it."""

    capacity: int
    fired: int
    answers: Answers
    inv: Inventory
    latencies: list[float]

    @property
    def oversells(self) -> int:
        created = self.answers.created
        return max(created - self.capacity, 0, self.inv.oversells(expected_held=created))

    @property
    def ok(self) -> bool:
        """Exactly ``capacity`` holds made, every other request a 409 ``sold_out``, the counters consistent."""
        rest = self.fired - self.capacity
        return (
            self.oversells == 0
            and not self.answers.errors
            and self.answers.created == self.capacity
            and self.answers.statuses[409] == rest
            and self.answers.codes["sold_out"] == rest
            and self.inv.held == self.capacity == self.inv.active_quantity
        )


async def _burst(holds: HoldRequests, tokens: list[str], n: int, concurrency: int) -> tuple[Answers, list[float]]:
    """Fire ``n`` hold requests at once over ``concurrency`` pre-opened connections and tally the answers.

    Connections are opened (and proven with ``GET /healthz``) before the gate opens, so the burst measures
    the inventory under contention, not a storm of TCP handshakes.
    """
    answers = Answers()
    latencies: list[float] = []
    requests = [holds.encoded(tokens[i % len(tokens)]) for i in range(n)]
    conns = [holds.connection() for _ in range(min(concurrency, n))]
    for conn in conns:
        await conn.request(holds.health_check())
    gate = asyncio.Event()
    todo = iter(requests)

    async def worker(conn: RawConnection) -> None:
        await gate.wait()
        for raw in todo:
            t0 = time.perf_counter()
            try:
                status, content = await asyncio.wait_for(conn.request(raw), 60.0)
            except (OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                answers.failed(exc)
                await conn.close()
                continue
            latencies.append(time.perf_counter() - t0)
            answers.record(status, content)

    tasks = [asyncio.create_task(worker(c)) for c in conns]
    await asyncio.sleep(0.05)
    gate.set()
    try:
        await asyncio.gather(*tasks)
    finally:
        for conn in conns:
            await conn.close()
    return answers, latencies


def oversell_check(
    base_url: str,
    dsn: str,
    tokens: list[str],
    ticket_type_id: uuid.UUID,
    capacity: int,
    factor: int,
    concurrency: int,
) -> OversellOutcome:
    """``capacity * factor`` holds at once at a ticket type of ``capacity`` seats, then its inventory."""
    fired = capacity * factor
    answers, latencies = run_async(_burst(HoldRequests.of(base_url, ticket_type_id), tokens, fired, concurrency))
    return OversellOutcome(capacity, fired, answers, inventory(dsn, ticket_type_id), latencies)
