"""The waiting list's run on Temporal's time-skipping test server, with its real step (``advance_waitlist``) on the
real database: 15-minute offers pass in milliseconds. Five buyers wait, two seats come back: the first two are
offered holds, in line order; untaken, their offers pass to the third and fourth; a declined offer goes to the
fifth; when nobody is left in line the run ends. And a list waiting long continues as new, its totals carried."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.auth import Principal, Role
from boxoffice.catalogue.rules import EventInput, PricingModel, TicketTypeInput, create_event, create_ticket_type
from boxoffice.db import Database
from boxoffice.inventory.holds import release_hold
from boxoffice.inventory.taking import create_hold
from boxoffice.models import Hold, WaitlistEntry
from boxoffice.models.types import utcnow
from boxoffice.waitlist import line
from boxoffice.waitlist.activities import WaitlistActivities
from boxoffice.waitlist.client import WaitlistRuns, tell
from boxoffice.waitlist.contract import (
    QUERY_PROGRESS,
    SIGNAL_OFFER_DECLINED,
    SIGNAL_SEATS_FREED,
    ListChange,
    WaitlistProgress,
    waitlist_workflow_id,
)
from boxoffice.waitlist.workflow import STEPS_PER_RUN, WaitlistWorkflow
from tests.waitlist.helpers import counters

OFFER = timedelta(minutes=15)


def buyer(user: str) -> Principal:
    return Principal(user_id=user, org_id="org1", role=Role.BUYER)


@dataclass
class Line:
    """A sold-out ticket type with buyers ``b1``… in its line (entry ids by buyer), and the run's settings."""

    tt: uuid.UUID
    entries: dict[str, uuid.UUID]
    runs: WaitlistRuns


async def line_of(
    db: Database, buyers: int, *, recheck: timedelta = timedelta(minutes=5), give_back: bool = True
) -> Line:
    """Two seats, held by ``holder``; ``buyers`` buyers join the line (one seat each); then (``give_back``) the
    holder gives both back, which keeps them for the line (nobody tells its run: the test starts it)."""
    start = datetime.now(UTC) + timedelta(days=30)
    async with db.transaction() as s:
        event = await create_event(s, "org1", EventInput("Show", start, start + timedelta(hours=3), "ZAR"))
        tt = await create_ticket_type(s, "org1", event.id, TicketTypeInput("GA", 2, PricingModel.FIXED, 5000))
    async with db.transaction() as s:
        held = await create_hold(s, buyer("holder"), tt.id, 2, ttl_seconds=3600, now=utcnow())
    entries = {}
    for n in range(1, buyers + 1):
        async with db.transaction() as s:
            entries[f"b{n}"] = (await line.join(s, buyer(f"b{n}"), tt.id, 1, now=utcnow())).entry.id
    if give_back:
        async with db.transaction() as s:
            await release_hold(s, buyer("holder"), held.id, now=utcnow())
    runs = WaitlistRuns(f"waitlist-{uuid.uuid4().hex[:8]}", int(OFFER.total_seconds()), int(recheck.total_seconds()))
    return Line(tt.id, entries, runs)


async def statuses(db: Database, found: Line) -> dict[str, str]:
    async with db.session() as s:
        rows = await s.execute(select(WaitlistEntry).where(col(WaitlistEntry.ticket_type_id) == found.tt))
        by_id = {e.id: e.status for e in rows.scalars()}
    return {b: by_id[i] for b, i in found.entries.items()}


async def until(db: Database, found: Line, want: dict[str, str], timeout: float = 30) -> dict[str, str]:
    """The entries' statuses once they include ``want`` (real time: the step runs on the real database)."""
    deadline = time.monotonic() + timeout
    while True:
        now = await statuses(db, found)
        if all(now[b] == s for b, s in want.items()) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.05)


@pytest.fixture
async def running(
    time_skipping_env: WorkflowEnvironment, db: Database
) -> AsyncIterator[tuple[WorkflowEnvironment, Line]]:
    found = await line_of(db, 5)
    activities = WaitlistActivities(db, found.runs)
    async with Worker(
        time_skipping_env.client,
        task_queue=found.runs.task_queue,
        workflows=[WaitlistWorkflow],
        activities=[activities.advance],
    ):
        yield time_skipping_env, found


async def test_offers_go_in_line_order_and_pass_on_when_not_taken(
    running: tuple[WorkflowEnvironment, Line], db: Database
) -> None:
    env, found = running
    client = env.client
    await tell(client, found.runs, str(found.tt), SIGNAL_SEATS_FREED, ListChange(source="test"))
    first = await until(db, found, {"b1": "offered", "b2": "offered"})
    assert first == {"b1": "offered", "b2": "offered", "b3": "waiting", "b4": "waiting", "b5": "waiting"}
    assert (await counters(db, str(found.tt)))["held"] == 2

    # Fifteen minutes pass: neither buyer took her offer, so both pass on, to the third and fourth in line.
    await env.sleep(OFFER + timedelta(minutes=1))
    second = await until(db, found, {"b3": "offered", "b4": "offered"})
    assert second == {"b1": "passed", "b2": "passed", "b3": "offered", "b4": "offered", "b5": "waiting"}
    async with db.session() as s:
        holds = (await s.execute(select(Hold).where(col(Hold.ticket_type_id) == found.tt))).scalars().all()
        by_user = {h.user_id: h.status for h in holds}
    assert by_user == {"holder": "released", "b1": "expired", "b2": "expired", "b3": "active", "b4": "active"}

    # The third declines: her seat goes to the fifth at once.
    async with db.transaction() as s:
        left = await line.leave(s, buyer("b3"), found.entries["b3"], now=utcnow())
    assert left.signal == SIGNAL_OFFER_DECLINED
    await tell(client, found.runs, str(found.tt), left.signal, ListChange(entry_id=str(found.entries["b3"])))
    third = await until(db, found, {"b5": "offered"})
    assert third == {"b1": "passed", "b2": "passed", "b3": "left", "b4": "offered", "b5": "offered"}
    handle = client.get_workflow_handle(waitlist_workflow_id(str(found.tt)), result_type=WaitlistProgress)
    progress = await handle.query(QUERY_PROGRESS, result_type=WaitlistProgress)
    assert (progress.waiting_entries, len(progress.open_offers), progress.totals.offers_made) == (0, 2, 5)

    # Nobody takes the last offers: the line is empty, the seats go back on sale, and the run ends.
    await env.sleep(OFFER + timedelta(minutes=1))
    result = await handle.result()
    assert (result.totals.offers_made, result.totals.offers_passed, result.totals.offers_taken) == (5, 4, 0)
    assert await statuses(db, found) == {"b1": "passed", "b2": "passed", "b3": "left", "b4": "passed", "b5": "passed"}
    seats = await counters(db, str(found.tt))
    assert (seats["held"], seats["waitlist_waiting"], seats["waitlist_reserved"]) == (0, 0, 0)
    async with db.session() as s:
        offered = (
            await s.execute(
                select(col(WaitlistEntry.position), col(WaitlistEntry.offered_at))
                .where(col(WaitlistEntry.ticket_type_id) == found.tt, col(WaitlistEntry.offered_at).is_not(None))
                .order_by(col(WaitlistEntry.offered_at), col(WaitlistEntry.position))
            )
        ).all()
    assert [position for position, _at in offered] == [1, 2, 3, 4, 5]  # offered in line order


async def test_a_list_waiting_long_continues_as_new_with_its_totals(
    time_skipping_env: WorkflowEnvironment, db: Database
) -> None:
    # Nothing comes back: the run re-checks the list every minute, for hours.
    found = await line_of(db, 1, recheck=timedelta(minutes=1), give_back=False)
    activities = WaitlistActivities(db, found.runs)
    client = time_skipping_env.client
    async with Worker(
        client, task_queue=found.runs.task_queue, workflows=[WaitlistWorkflow], activities=[activities.advance]
    ):
        handle = client.get_workflow_handle(
            await tell(client, found.runs, str(found.tt), SIGNAL_SEATS_FREED, ListChange(source="test"))
        )
        first_run = (await handle.describe()).run_id
        await time_skipping_env.sleep(timedelta(minutes=STEPS_PER_RUN + 30))
        later = await handle.describe()
        progress = await handle.query(QUERY_PROGRESS, result_type=WaitlistProgress)
    assert later.run_id != first_run and later.status is not None and later.status.name == "RUNNING"
    assert progress.totals.advances > STEPS_PER_RUN  # carried across continue-as-new
    assert (progress.waiting_entries, progress.totals.offers_made) == (1, 0)
    assert await statuses(db, found) == {"b1": "waiting"}
