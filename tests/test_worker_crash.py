"""The worker process dies (SIGKILL) in the middle of checkouts and a new one takes over.

Every checkout still ends paid with exactly its tickets, or cancelled with its holds released: none stuck,
none doubled, the books balanced.

The worker is a real OS process (``tests/crash_worker.py``), so the kill is real: in-flight local activities,
workflow tasks and the sticky cache die with it. Because the worker's sandbox provider client must reach the
API over the network, the app is served over real HTTP on 127.0.0.1 (uvicorn on this test's event loop), and
the test drives it over HTTP too, as a buyer's browser would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlmodel import col
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from boxoffice.api.app import create_app
from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.checkout.workflow import CheckoutWorkflow
from boxoffice.db import Database
from boxoffice.models import Hold, Order, OrderLine, Ticket, TicketType
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, setup_sale
from tests.crash_worker import WorkerProcess, worker_env
from tests.e2e_stack import free_socket, serve_app, url_of
from tests.harness import Tokens, settings_for

PAYMENT_WINDOW_SECONDS = 12
N_PAY_BEFORE, N_DECLINE_BEFORE = 4, 2  # pressed while the first worker runs, which is then killed
N_PAY_DEAD, N_DECLINE_DEAD = 4, 2  # pressed while no worker runs (the second one is killed mid-recovery)
N_UNPAID = 4  # never paid: their payment window closes across the kills
SETTLED = {"paid", "fulfilled", "cancelled", "refunded"}


# --- reading the outcome -----------------------------------------------------------------------------------


async def order_statuses(db: Database, order_ids: list[str]) -> dict[str, str]:
    async with db.session() as s:
        ids = [uuid.UUID(o) for o in order_ids]
        rows = await s.execute(select(col(Order.id), col(Order.status)).where(col(Order.id).in_(ids)))
        return {str(oid): status for oid, status in rows.all()}


async def wait_until(
    db: Database, order_ids: list[str], enough: Callable[[dict[str, str]], bool], timeout: float
) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await order_statuses(db, order_ids)
        if enough(statuses) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.05)


def count_settled(statuses: dict[str, str], among: list[str]) -> int:
    return sum(1 for o in among if statuses.get(o) in SETTLED)


# --- the test ----------------------------------------------------------------------------------------------


async def test_sigkill_worker_mid_checkouts(
    db: Database, temporal_env: WorkflowEnvironment, tokens: Tokens, pg_url: str, task_queue: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    sock = free_socket()
    public_url = url_of(sock)
    settings = settings_for(
        tmp_path, pg_url, task_queue, public_url=public_url, payment_window_seconds=PAYMENT_WINDOW_SECONDS
    )
    temporal = temporal_env.client
    env = worker_env(settings, temporal.service_client.config.target_host)
    workers = [WorkerProcess(env, tmp_path, f"worker-{i}") for i in range(3)]
    outbound = httpx.AsyncClient(timeout=httpx.Timeout(15, connect=5))
    app = create_app(settings, db=db, temporal=temporal, outbound=outbound)
    timeline: list[str] = []

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.2f}s {what}")

    try:
        async with serve_app(app, sock), httpx.AsyncClient(base_url=public_url, timeout=30) as api:
            await workers[0].start()
            mark("worker-0 ready")

            # N buyers, each with their own hold, all checking out at once (the first worker builds the pages).
            n = N_PAY_BEFORE + N_DECLINE_BEFORE + N_PAY_DEAD + N_DECLINE_DEAD + N_UNPAID
            _event, tt = await setup_sale(api, tokens, capacity=100, base_price_cents=5000)
            buyers = [f"buyer{i:02d}" for i in range(n)]
            qty = {b: 1 + i % 3 for i, b in enumerate(buyers)}
            holds = await asyncio.gather(*(hold(api, tokens, tt["id"], qty[b], user=b) for b in buyers))
            responses = await asyncio.gather(
                *(checkout(api, tokens, [h], user=b) for h, b in zip(holds, buyers, strict=True))
            )
            for r in responses:
                assert r.status_code == 201, r.text
            bodies = {b: r.json() for b, r in zip(buyers, responses, strict=True)}
            assert all(body["payment_url"].startswith(f"{public_url}/sandbox/pay/") for body in bodies.values())
            oid = {b: bodies[b]["order_id"] for b in buyers}
            mark(f"{n} checkouts awaiting payment")

            groups: dict[str, list[str]] = {}
            rest = list(buyers)
            for name, size in (
                ("pay_before", N_PAY_BEFORE),
                ("decline_before", N_DECLINE_BEFORE),
                ("pay_dead", N_PAY_DEAD),
                ("decline_dead", N_DECLINE_DEAD),
                ("unpaid", N_UNPAID),
            ):
                groups[name], rest = rest[:size], rest[size:]
            all_orders = [oid[b] for b in buyers]
            paying = [oid[b] for b in groups["pay_before"] + groups["pay_dead"]]
            declining = [oid[b] for b in groups["decline_before"] + groups["decline_dead"]]
            unpaid = [oid[b] for b in groups["unpaid"]]

            async def press_all(who: list[str], action: str) -> None:
                rs = await asyncio.gather(*(press(api, bodies[b]["payment_url"], action) for b in who))
                assert all(r.status_code == 303 for r in rs), [r.text for r in rs]

            # 1. Pays and declines land; the first worker is killed as soon as it has completed one of them, so
            #    it dies with the rest of the burst in flight.
            pressing = asyncio.gather(
                press_all(groups["pay_before"], "pay"), press_all(groups["decline_before"], "decline")
            )
            first_batch = [oid[b] for b in groups["pay_before"] + groups["decline_before"]]
            statuses = await wait_until(db, first_batch, lambda s: count_settled(s, first_batch) >= 1, timeout=20)
            await workers[0].sigkill()
            at_kill_1 = await order_statuses(db, all_orders)
            mark(f"SIGKILL worker-0: settled {count_settled(at_kill_1, all_orders)}/{n} {Counter(at_kill_1.values())}")
            assert count_settled(statuses, first_batch) >= 1, f"worker-0 settled nothing: {statuses}"
            await pressing

            # 2. More pays and declines while no worker is running: only the webhooks' signals record them.
            await asyncio.gather(press_all(groups["pay_dead"], "pay"), press_all(groups["decline_dead"], "decline"))
            mark("pressed while no worker runs")

            # 3. A second worker takes over, and is killed too once it has settled one more checkout.
            await workers[1].start()
            before = count_settled(await order_statuses(db, all_orders), all_orders)
            mark(f"worker-1 ready (settled {before}/{n})")
            statuses = await wait_until(
                db, all_orders, lambda s: count_settled(s, all_orders) > before, timeout=PAYMENT_WINDOW_SECONDS + 20
            )
            await workers[1].sigkill()
            at_kill_2 = await order_statuses(db, all_orders)
            mark(f"SIGKILL worker-1: settled {count_settled(at_kill_2, all_orders)}/{n} {Counter(at_kill_2.values())}")
            assert count_settled(statuses, all_orders) > before, f"worker-1 made no progress: {statuses}"

            # 4. A third worker finishes the job: every checkout settles.
            await workers[2].start()
            mark("worker-2 ready")
            final = await wait_until(db, all_orders, lambda s: count_settled(s, all_orders) == n, timeout=45)
            mark(f"all settled: {Counter(final.values())}")
            stuck = {o: s for o, s in final.items() if s not in SETTLED}
            assert not stuck, f"stuck orders: {stuck}\n" + "\n".join(timeline)

            # The kills really interrupted work in flight.
            assert count_settled(at_kill_1, all_orders) < n and count_settled(at_kill_2, all_orders) < n

            # Every checkout run closed with the outcome its buyer chose, and several were carried across kills.
            identities_of: dict[str, set[str]] = {}
            timed_out = 0  # workflow tasks lost with a killed process (sticky queue or in flight), for the log
            for o in all_orders:
                handle = temporal.get_workflow_handle_for(CheckoutWorkflow.run, checkout_workflow_id(o))
                result = await asyncio.wait_for(handle.result(), 30)
                want = "paid" if o in paying else "cancelled"
                assert result.status == want, (o, result)
                assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
                history = await handle.fetch_history()
                timed_out += sum(
                    1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
                )
                identities_of[o] = {
                    e.workflow_task_completed_event_attributes.identity
                    for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                }
            carried = [o for o, ids in identities_of.items() if len(ids) > 1]
            mark(
                f"{len(carried)}/{n} checkouts ran on more than one worker process; {timed_out} workflow tasks timed out"
            )
            assert carried, identities_of
            assert any(workers[2].identity in ids for ids in identities_of.values())

            await check_outcome(db, tt["id"], paying, declining, unpaid, oid, qty)
    except BaseException:
        for w in workers:
            print(f"--- {w.name} output ---\n{w.output()}")
        raise
    finally:
        for w in workers:
            await w.stop()
        await outbound.aclose()
        print("\n".join(timeline))


async def check_outcome(
    db: Database,
    tt_id: str,
    paying: list[str],
    declining: list[str],
    unpaid: list[str],
    oid: dict[str, str],
    qty: dict[str, int],
) -> None:
    quantity_of = {oid[b]: q for b, q in qty.items()}
    async with db.session() as s:
        orders = {str(o.id): o for o in (await s.execute(select(Order))).scalars()}
        tickets = list((await s.execute(select(Ticket))).scalars())
        holds = list((await s.execute(select(Hold))).scalars())
        lines = list((await s.execute(select(OrderLine))).scalars())
        tt = await s.get(TicketType, uuid.UUID(tt_id))
    assert tt is not None
    assert set(orders) == set(paying + declining + unpaid)
    tickets_of: dict[str, list[Ticket]] = {o: [] for o in orders}
    for t in tickets:
        tickets_of[str(t.order_id)].append(t)
    holds_of: dict[str, list[Hold]] = {o: [] for o in orders}
    for h in holds:
        if h.order_id is not None:
            holds_of[str(h.order_id)].append(h)
    assert all(len(holds_of[o]) == 1 for o in orders), "each order claimed exactly its one hold"

    for o in paying:
        order = orders[o]
        assert order.status in ("paid", "fulfilled") and order.payment_status == "paid", (o, order)
        own = tickets_of[o]
        assert len(own) == quantity_of[o], (o, len(own), quantity_of[o])
        assert len({t.ticket_code for t in own}) == len(own)
        assert all(t.status == "active" for t in own)
        assert [h.status for h in holds_of[o]] == ["converted"]
    for o in declining + unpaid:
        order = orders[o]
        # Unpaid: the window closed and the last look still found the payment pending (``payment_timeout``), or
        # that last look could not reach the provider (``payment_expired``).
        want_reasons = {"payment_declined"} if o in declining else {"payment_timeout", "payment_expired"}
        assert order.status == "cancelled" and order.cancel_reason in want_reasons, (o, order)
        assert order.payment_status == "failed", (o, order)
        assert not tickets_of[o]
        assert [h.status for h in holds_of[o]] == ["released"], (o, holds_of[o])

    # Nothing doubled: one ticket per seat, unique codes, one per (line, index).
    issued = sum(quantity_of[o] for o in paying)
    assert len(tickets) == issued
    assert len({t.ticket_code for t in tickets}) == issued
    assert len({(t.order_line_id, t.index_in_line) for t in tickets}) == issued
    assert len(lines) == len(orders) and {str(ln.order_id) for ln in lines} == set(orders)
    assert (tt.held, tt.sold) == (0, issued), (tt.held, tt.sold, issued)
    await assert_books_balanced(db)
