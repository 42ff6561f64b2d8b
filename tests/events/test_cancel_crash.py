"""Issue 13's proof: cancelling an event with 200 paid orders across two providers' fakes (Paystack and Stripe).

Every order is refunded exactly once (one refund per payment at each provider, one settled refund per order), the
progress is visible while the run goes (the ``progress`` query through ``GET /v1/events/{id}/cancellation``, and
from the database while no worker runs), a worker SIGKILLed in the middle changes nothing, ``boxoffice check`` is
clean throughout, the books balance after, and each order's buyer gets one cancellation message.

The worker is a real OS process (``tests/crash_worker.py``); the API is served over real HTTP, since the fakes post
their webhooks to it. The providers settle refunds as a back office would: a loop settles every pending refund (each
settlement emits the provider's signed webhook). The cancellation goes at 25 orders a second, 10 per step, and
continues as new every 50 orders, so the 200 orders take at least eight seconds and four runs: the kill lands in the
middle. The whole test takes about two minutes on the project's 2-core box, most of it buying the 200 orders.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from boxoffice.api.app import create_app
from boxoffice.db import Database
from boxoffice.events.contract import CancellationProgress, cancellation_workflow_id
from boxoffice.models import Order, Refund, SentMessage, TicketType
from tests.books import assert_books_balanced, findings
from tests.crash_worker import WorkerProcess, worker_env
from tests.e2e_stack import free_socket, provider_settings, serve_app, url_of
from tests.fakes import PaystackFake, StripeFake, running
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type

ORDERS = {"paystack": 100, "stripe": 100}
PACE = {"event_orders_per_second": 25.0, "event_batch_size": 10, "event_orders_per_run": 50}
KILL_AT = 60  # refunds started when the worker is killed (of 200)
ROOT = Path(__file__).resolve().parents[2]


def env_for(settings: Any, fakes: dict[str, Any], temporal_address: str) -> dict[str, str]:
    env = worker_env(settings, temporal_address)
    for fake in fakes.values():
        env.update({f"BOXOFFICE_{k.upper()}": str(v) for k, v in provider_settings(fake.name, fake).items()})
    env.update({f"BOXOFFICE_{k.upper()}": str(v) for k, v in PACE.items()})
    env["BOXOFFICE_EVENT_CANCELLATION_POLL_SECONDS"] = "1"
    return env


async def settle_refunds(fakes: dict[str, Any], stop: asyncio.Event) -> None:
    """The providers' back office: every pending refund is settled (and its webhook sent) soon after it is made."""
    while not stop.is_set():
        for fake in fakes.values():
            with fake.lock:
                pending = [rid for rid, r in fake.refunds.items() if r["status"] == "pending"]
            for rid in pending:
                await fake.settle_refund(rid, succeed=True)
        await asyncio.sleep(0.3)


async def gathered(n: int, limit: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with gate:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def test_cancelling_an_event_of_200_paid_orders_survives_a_worker_kill(
    db: Database, temporal_env: WorkflowEnvironment, tokens: Tokens, pg_url: str, task_queue: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    timeline: list[str] = []

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.1f}s {what}")

    sock = free_socket()
    public_url = url_of(sock)
    with running(PaystackFake()) as paystack, running(StripeFake()) as stripe:
        fakes: dict[str, Any] = {"paystack": paystack, "stripe": stripe}
        configured: dict[str, Any] = {}
        for fake in fakes.values():
            fake.webhook_url = f"{public_url}/v1/webhooks/{fake.name}"
            configured |= provider_settings(fake.name, fake)
        settings = settings_for(
            tmp_path, pg_url, task_queue, public_url=public_url, payment_poll_interval_seconds=1, **configured, **PACE
        )
        temporal = temporal_env.client
        env = env_for(settings, fakes, temporal.service_client.config.target_host)
        workers = [WorkerProcess(env, tmp_path, f"worker-{i}") for i in range(2)]
        app = create_app(settings, db=db, temporal=temporal)
        stop_back_office = asyncio.Event()
        back_office = asyncio.create_task(settle_refunds(fakes, stop_back_office))
        try:
            async with serve_app(app, sock), httpx.AsyncClient(base_url=public_url, timeout=60) as api:
                await workers[0].start()
                admin = tokens.admin()
                event = await make_event(api, admin, service_fee_fixed_cents=250)
                tt = await make_ticket_type(api, admin, event["id"], capacity=400, base_price_cents=4000)

                # 1. 200 buyers pay, half through Paystack and half through Stripe.
                plan = [p for p, n in ORDERS.items() for _ in range(n)]

                async def buy(i: int) -> dict[str, Any]:
                    user = f"buyer{i:03d}"
                    held = await api.post(
                        "/v1/holds",
                        json={"ticket_type_id": tt["id"], "quantity": 1 + i % 2},
                        headers=tokens.buyer(user),
                    )
                    assert held.status_code == 201, held.text
                    body = {
                        "hold_ids": [held.json()["id"]],
                        "provider": plan[i],
                        "buyer": {"email": f"{user}@example.com", "name": user},
                    }
                    r = await api.post("/v1/checkouts", json=body, headers=tokens.buyer(user))
                    assert r.status_code == 201, r.text
                    order = (await api.get(f"/v1/orders/{r.json()['order_id']}", headers=admin)).json()
                    await fakes[plan[i]].complete_payment(order["transaction"]["provider_reference"])
                    return dict(order)

                orders = await gathered(len(plan), 6, buy)
                order_ids = [o["id"] for o in orders]
                await wait_for(lambda: all_paid(db, order_ids), timeout=120)
                mark(f"{len(orders)} orders paid ({dict(Counter(plan))})")

                # 2. The organiser cancels; the worker is killed once the run is well under way.
                r = await api.post(f"/v1/events/{event['id']}/cancel", json={"reason": "Storm"}, headers=admin)
                assert r.status_code == 202, r.text
                seen: list[dict[str, Any]] = []

                async def progress() -> dict[str, Any]:
                    r = await api.get(f"/v1/events/{event['id']}/cancellation", headers=admin)
                    assert r.status_code == 200, r.text
                    seen.append(r.json())
                    return dict(r.json())

                at_kill = await wait_for(
                    lambda: _when(progress(), lambda p: p["refunds_started"] >= KILL_AT), timeout=60, every=0.05
                )
                await workers[0].sigkill()
                mark(f"SIGKILL worker-0 at {at_kill['refunds_started']} refunds started, {at_kill['done']} done")
                await assert_clean(db)  # boxoffice check, with the worker dead in the middle of the run
                while_dead = await progress()  # no worker to answer the query: counted from the database
                assert while_dead["status"] == "cancelling" and while_dead["state"] == "unknown", while_dead
                assert 0 < while_dead["refunds_started"] < len(orders), while_dead

                # 3. A new worker takes over and the run finishes.
                await workers[1].start()
                mark("worker-1 ready")
                handle = temporal.get_workflow_handle(
                    cancellation_workflow_id(event["id"]), result_type=CancellationProgress
                )
                final = await asyncio.wait_for(handle.result(), 180)
                mark(f"cancellation done: {final}")
                report = await progress()
                await assert_clean(db)
                # One cancellation message per order (sent from the documents queue, after the refunds started).
                messaged = await wait_for(lambda: cancellation_messages(db, len(orders)), timeout=240, every=1)
                mark("every buyer messaged")
        except BaseException:
            for w in workers:
                print(f"--- {w.name} output ---\n{w.output()}")
            raise
        finally:
            stop_back_office.set()
            await back_office
            for w in workers:
                await w.stop()
            print("\n".join(timeline))

        # Progress was visible while it ran, and the final count is whole.
        running_views = [p for p in seen if p["status"] == "cancelling" and 0 < p["refunds_started"] < len(orders)]
        assert running_views, seen
        assert (final.total, final.done, final.failed) == (200, 200, 0), final
        assert (final.refunds_started, final.refunds_settled, final.state) == (200, 200, "done"), final
        assert final.runs >= 4, final  # continued as new every 50 orders
        assert (report["status"], report["done"], report["total"]) == ("cancelled", 200, 200), report

        # The kill interrupted the run: a later run of it was carried by the new worker.
        identities = await run_identities(temporal, cancellation_workflow_id(event["id"]))
        assert workers[1].identity in identities and workers[0].identity in identities, identities

        # Every order refunded exactly once: one settled refund per order here, one refund per payment there.
        async with db.session() as s:
            rows = (await s.execute(select(Order).where(col(Order.event_id) == uuid.UUID(event["id"])))).scalars()
            by_id = {str(o.id): o for o in rows}
            refunds = list((await s.execute(select(Refund))).scalars())
            tt_row = await s.get(TicketType, uuid.UUID(tt["id"]))
        assert {o.status for o in by_id.values()} == {"refunded"}
        assert Counter(str(r.order_id) for r in refunds) == Counter(order_ids)
        assert all(r.status == "succeeded" and r.kind == "event_cancelled" for r in refunds)
        assert all(r.amount == by_id[str(r.order_id)].total_amount for r in refunds)
        assert len(paystack.refunds) == ORDERS["paystack"] and len(stripe.refunds) == ORDERS["stripe"]
        assert Counter(r["transaction"]["reference"] for r in paystack.refunds.values()).most_common(1)[0][1] == 1
        assert Counter(r["payment_intent"] for r in stripe.refunds.values()).most_common(1)[0][1] == 1
        assert sum(r["amount"] for r in paystack.refunds.values()) + sum(
            r["amount"] for r in stripe.refunds.values()
        ) == sum(o["total_amount"] for o in orders)
        assert tt_row is not None and (tt_row.held, tt_row.sold) == (0, 0)
        assert messaged == set(order_ids)  # one cancellation message per order

        # The books balance, and `boxoffice check` (the command itself) says so.
        await assert_books_balanced(db)
        check = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "boxoffice.cli",
            "check",
            "--event",
            event["id"],
            cwd=ROOT,
            env={**os.environ, "BOXOFFICE_DATABASE_URL": pg_url, "BOXOFFICE_DATA_DIR": str(tmp_path)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await asyncio.wait_for(check.communicate(), 60))[0].decode()
        assert check.returncode == 0, output
        mark("checked")
        print("\n".join(timeline))


async def _when(value: Awaitable[dict[str, Any]], ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    got = await value
    return got if ok(got) else None


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if value := await check():
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


async def all_paid(db: Database, order_ids: list[str]) -> bool:
    async with db.session() as s:
        rows = await s.execute(select(col(Order.status)).where(col(Order.id).in_([uuid.UUID(o) for o in order_ids])))
        return all(status in ("paid", "fulfilled") for status in rows.scalars())


async def cancellation_messages(db: Database, expected: int) -> set[str] | None:
    """The orders whose cancellation message went out, once there are ``expected`` of them."""
    async with db.session() as s:
        rows = await s.execute(select(col(SentMessage.order_id)).where(col(SentMessage.kind) == "cancellation"))
        found = {str(o) for o in rows.scalars()}
    return found if len(found) >= expected else None


async def assert_clean(db: Database) -> None:
    """``boxoffice check``'s rules over the database as it is (refunds may be in flight)."""
    found = await findings(db, settled=False)
    assert found.ok, "\n".join(str(v) for v in found.violations)


async def run_identities(temporal: Any, workflow_id: str) -> set[str]:
    """The workers that completed workflow tasks of any run of ``workflow_id`` (continue-as-new made several)."""
    identities: set[str] = set()
    async for run in temporal.list_workflows(f"WorkflowId = '{workflow_id}'"):
        history = await temporal.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        identities |= {
            e.workflow_task_completed_event_attributes.identity
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        }
    return identities
