"""Waiting list activities: one step of a list (``advance``), and the sweep that keeps every list's run going."""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio import activity

from boxoffice.db import Database
from boxoffice.models.types import utcnow
from boxoffice.waitlist import offers
from boxoffice.waitlist.client import WaitlistRuns, ensure_running
from boxoffice.waitlist.contract import AdvanceInput, AdvanceResult, SweepInput, SweepResult


class WaitlistActivities:
    def __init__(self, db: Database, runs: WaitlistRuns) -> None:
        self.db, self.runs = db, runs

    @activity.defn(name="advance_waitlist")
    async def advance(self, inp: AdvanceInput) -> AdvanceResult:
        """Settle the list's offers and offer its kept seats to the next in line, in one transaction
        (``waitlist.offers.advance``). ``inp.now`` is the run's clock; a retry late after it uses the real one."""
        now = max(datetime.fromisoformat(inp.now), utcnow())
        async with self.db.transaction() as session:
            result = await offers.advance(
                session, uuid.UUID(inp.ticket_type_id), now=now, offer_seconds=inp.offer_seconds
            )
        if result.offered or result.passed:
            activity.logger.info(
                "waiting list moved", extra={"offered": len(result.offered), "passed": len(result.passed)}
            )
        return result

    @activity.defn(name="ensure_waitlists_running")
    async def ensure_running(self, inp: SweepInput) -> SweepResult:
        """Start the run of every list with buyers in it that has none (its join's signal was lost, or its run
        was terminated)."""
        async with self.db.session() as session:
            lists = await offers.lists_with_buyers(session, limit=inp.limit)
        client = activity.client()
        started = 0
        for tt_id in lists:
            started += await ensure_running(client, self.runs, str(tt_id))
        if started:
            activity.logger.warning("waiting lists had no run", extra={"started": started})
        return SweepResult(lists=len(lists), started=started)
