"""The shape that scales past one machine, for real: two API processes and two checkout workers (plus a
documents-only worker) on one PostgreSQL and one Temporal server. Checkouts are spread over both APIs, one checkout
worker is SIGKILLed in the middle, and everything still ends as its buyer chose: paid and fulfilled with its
tickets, or cancelled with its seats back; the books balance.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType

from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.db import Database
from boxoffice.fulfilment.contract import fulfillment_workflow_id
from tests.books import assert_books_balanced
from tests.ops.buying import TOKENS, hold_and_checkout, order, press, sale, wait_for
from tests.ops.conftest import Deployment
from tests.ops.processes import Metrics

N_BEFORE, N_AFTER, N_DECLINED = 6, 4, 2  # paid before the kill, paid after it, declined after it
SETTLED = {"paid", "fulfilled", "cancelled"}


def identity(pid: int) -> str:
    """A worker's Temporal identity: the SDK's default, ``pid@host``."""
    return f"{pid}@{socket.gethostname()}"


async def task_identities(d: Deployment, workflow_id: str) -> set[str]:
    """Which worker processes completed the run's workflow tasks."""
    history = await d.temporal.get_workflow_handle(workflow_id).fetch_history()
    return {
        e.workflow_task_completed_event_attributes.identity
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }


async def test_two_apis_two_workers_one_killed(deployment: Deployment, session_db: Database, org: str) -> None:
    d = deployment
    try:
        await run_scenario(d, session_db, org)
    except BaseException:
        print(d.stack.outputs())
        raise


async def run_scenario(d: Deployment, db: Database, org: str) -> None:
    a = d.apis[0]
    _event, tt = await sale(a, org, capacity=100)
    n = N_BEFORE + N_AFTER + N_DECLINED
    qty = [1 + i % 3 for i in range(n)]
    # Buyer i holds and checks out through API i % 2, all at once.
    started: list[dict[str, Any]] = await asyncio.gather(
        *(hold_and_checkout(d.apis[i % 2], org, tt["id"], f"buyer{i:02d}", qty[i]) for i in range(n))
    )
    ids = [s["order_id"] for s in started]
    before, after, declined = ids[:N_BEFORE], ids[N_BEFORE : N_BEFORE + N_AFTER], ids[N_BEFORE + N_AFTER :]

    async def statuses(among: list[str]) -> dict[str, str]:
        orders = await asyncio.gather(*(order(a, org, o) for o in among))
        return {o: x["status"] for o, x in zip(among, orders, strict=True)}

    # Pay the first batch (each on the other API's copy of the sandbox page); kill worker A once one is paid,
    # with the rest of the batch in flight.
    for i, o in enumerate(before):
        await press(d.apis[(i + 1) % 2], started[ids.index(o)]["payment_url"], "pay")
    first = await wait_for(
        lambda: statuses(before), lambda s: any(v in SETTLED for v in s.values()), 30, "the first payments"
    )
    killed = d.checkout_workers[0].process
    await killed.sigkill()
    assert sum(v in SETTLED for v in first.values()) < n

    # More payments and declines arrive with one checkout worker left.
    await asyncio.gather(
        *(press(d.apis[i % 2], started[ids.index(o)]["payment_url"], "pay") for i, o in enumerate(after)),
        *(press(d.apis[i % 2], started[ids.index(o)]["payment_url"], "decline") for i, o in enumerate(declined)),
    )
    final = await wait_for(
        lambda: statuses(ids),
        lambda s: all(s[o] == "fulfilled" for o in before + after) and all(s[o] == "cancelled" for o in declined),
        120,
        "every checkout settled and every paid order fulfilled",
        pause=0.5,
    )
    assert Counter(final.values()) == {"fulfilled": N_BEFORE + N_AFTER, "cancelled": N_DECLINED}

    # Each paid order has exactly its tickets, each cancelled one none; the seats add up.
    for i, o in enumerate(ids):
        tickets = (await order(a, org, o))["tickets"]
        assert len(tickets) == (qty[i] if o not in declined else 0), (o, tickets)
    availability = (await a.get(f"/v1/events/{tt['event_id']}/availability", headers=TOKENS.admin(org=org))).json()
    sold = sum(q for o, q in zip(ids, qty, strict=True) if o not in declined)
    assert availability[0]["available"] == 100 - sold, availability

    # Both checkout workers ran checkouts, the killed one's runs were carried on by the survivor, and the
    # documents-only worker alone rendered and sent the tickets.
    survivor, docs = d.checkout_workers[1].process, d.documents_worker.process
    ran_on = {o: await task_identities(d, checkout_workflow_id(o)) for o in ids}
    assert any(identity(killed.pid) in who for who in ran_on.values()), ran_on
    assert any(identity(survivor.pid) in who for who in ran_on.values()), ran_on
    assert any(len(who) > 1 for who in ran_on.values()), ran_on
    for o in before + after:
        assert await task_identities(d, fulfillment_workflow_id(o)) == {identity(docs.pid)}

    # Both APIs took checkouts (their own request counters), and the books balance.
    for api_url, share in zip(d.api_urls, (n - n // 2, n // 2), strict=True):
        scrape = await Metrics.scrape(f"{api_url}/metrics")
        took = scrape.value("boxoffice_http_requests_total", method="POST", route="/v1/checkouts", status="201")
        assert took >= share, (api_url, took)
    await assert_books_balanced(db, org)
