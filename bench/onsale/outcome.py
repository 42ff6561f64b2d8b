"""How the sale ended, read from the database and from the providers' own books once everything has settled: seats,
orders by final state, oversells, money a provider kept for an order without tickets, and ``boxoffice check``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from temporalio.service import RPCError

from bench.onsale.providers import ProviderSide
from bench.processes import BENCH_PAYLOAD_KEYS, BOXOFFICE_BIN
from boxoffice.temporal import connect, converter_for

LIVE = "('active', 'scanned', 'used')"
#: What must be zero before the books are read: every run ended, every seat back or sold, every refund settled.
UNSETTLED = {
    "pending orders": "SELECT count(*) FROM orders WHERE status = 'pending'",
    "active holds": "SELECT count(*) FROM holds WHERE status = 'active'",
    "refunds in flight": "SELECT count(*) FROM refunds WHERE status <> 'succeeded'",
    "paid orders not fulfilled": "SELECT count(*) FROM orders WHERE status = 'paid'",
}


#: Runs that may still change the books: a checkout in its late-payment grace, a refund, a late payment, fulfilment.
OPEN_RUNS = (
    "ExecutionStatus = 'Running' AND WorkflowType IN "
    "('CheckoutWorkflow', 'RefundWorkflow', 'LatePaymentWorkflow', 'FulfillmentWorkflow')"
)


async def settle(dsn: str, temporal_address: str, timeout: float) -> tuple[float, dict[str, int]]:
    """Wait until nothing is in flight and no run that may still move money is open (or ``timeout``); the seconds
    waited and what was still in flight."""
    t0 = time.monotonic()
    client = await connect(temporal_address, "default", converter=converter_for(BENCH_PAYLOAD_KEYS))
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while True:
            left = {}
            for what, sql in UNSETTLED.items():
                row = await (await conn.execute(sql)).fetchone()
                if row and row[0]:
                    left[what] = int(row[0])
            with contextlib.suppress(RPCError):  # visibility may lag or blink: asked again next second
                if runs := (await client.count_workflows(OPEN_RUNS)).count:
                    left["open checkout, refund, late-payment or fulfilment runs"] = runs
            if not left or time.monotonic() - t0 > timeout:
                return time.monotonic() - t0, left
            await asyncio.sleep(1.0)


@dataclass
class Money:
    """Captured money seen from each provider's own books, against the orders it paid for."""

    captured_payments: int = 0
    kept_without_tickets: int = 0  # minor units a provider still holds for orders that have no tickets
    kept_orders: list[str] = field(default_factory=list)
    tickets_without_money: int = 0  # sold orders the provider holds less than the order's total for
    refunded_captures: int = 0  # payments captured for orders that could not be sold, given back in full


@dataclass(frozen=True)
class OrderEnd:
    """How one order ended."""

    status: str
    reason: str | None
    paid_at: datetime | None
    expires_at: datetime  # when its payment window closed
    cancelled_at: datetime | None


@dataclass
class Books:
    capacity: int
    held: int
    sold: int
    live_tickets: int
    oversold: int
    orders: Counter[tuple[str, str]]
    final: dict[str, OrderEnd]
    refunds: Counter[tuple[str, str]]
    webhooks: Counter[str]
    money: Money


def read_books(dsn: str, side: ProviderSide) -> Books:
    """The sale's final state from the database, and the money from every provider's side."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        types = conn.execute("SELECT capacity, held, sold, id FROM ticket_types").fetchall()
        live: dict[object, int] = {
            tt: int(n)
            for tt, n in conn.execute(f"SELECT ticket_type_id, count(*) FROM tickets WHERE status IN {LIVE} GROUP BY 1")
        }
        orders = conn.execute(
            "SELECT id, status, payment_status, cancel_reason, paid_at, expires_at, cancelled_at FROM orders"
        ).fetchall()
        refunds = conn.execute("SELECT kind, status, count(*) FROM refunds GROUP BY 1, 2").fetchall()
        webhooks = conn.execute("SELECT status, count(*) FROM webhook_events GROUP BY 1").fetchall()
        payments = conn.execute(
            "SELECT o.id, o.status, o.total_amount, t.provider, t.reference, t.provider_reference, "
            f"(SELECT count(*) FROM tickets k WHERE k.order_id = o.id AND k.status IN {LIVE}) "
            "FROM orders o JOIN transactions t ON t.order_id = o.id"
        ).fetchall()
        sandbox = {
            ref: (amount, refunded) if status == "succeeded" else (0, 0)
            for ref, status, amount, refunded in conn.execute(
                "SELECT reference, status, amount, refunded_amount FROM sandbox_payments"
            )
        }
    money = Money()
    for order_id, status, total, provider, reference, provider_reference, tickets in payments:
        if provider == "sandbox":
            captured, refunded = sandbox.get(reference, (0, 0))
        else:
            captured, refunded = side.captured(provider, reference, provider_reference)
        held_now, sold = captured - refunded, status in ("paid", "fulfilled") and tickets > 0
        money.captured_payments += int(captured > 0)
        if held_now > 0 and not sold:
            money.kept_without_tickets += held_now
            money.kept_orders.append(str(order_id))
        if sold and held_now < total:
            money.tickets_without_money += 1
        if captured and not sold and held_now == 0:
            money.refunded_captures += 1
    return Books(
        capacity=sum(t[0] for t in types),
        held=sum(t[1] for t in types),
        sold=sum(t[2] for t in types),
        live_tickets=sum(live.values()),
        oversold=sum(int(max(0, held + sold - cap) + max(0, live.get(i, 0) - cap)) for cap, held, sold, i in types),
        orders=Counter((o[1], o[2]) for o in orders),
        final={str(o[0]): OrderEnd(o[1], o[3], o[4], o[5], o[6]) for o in orders},
        refunds=Counter({(k, s): int(n) for k, s, n in refunds}),
        webhooks=Counter({s: int(n) for s, n in webhooks}),
        money=money,
    )


def boxoffice_check(database_url: str, data_dir: Path) -> tuple[int, str]:
    """``boxoffice check --settled`` on the sale's database, as an operator would run it: exit status, output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env |= {"BOXOFFICE_ENV": "test", "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [str(BOXOFFICE_BIN), "check", "--settled"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()
