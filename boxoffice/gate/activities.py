"""The gate's activities, run by the check-in sweep: admitted tickets of ended events become ``used``, and voids
whose buyer was not told get their message run started."""

from __future__ import annotations

from temporalio import activity

from boxoffice.db import Database
from boxoffice.gate import sweep
from boxoffice.gate.client import notify_void
from boxoffice.gate.contract import NotifyResult, SweepInput, UsedResult
from boxoffice.models.types import utcnow


class GateActivities:
    def __init__(self, db: Database, documents_task_queue: str):
        self.db, self.documents_task_queue = db, documents_task_queue

    @activity.defn(name="mark_used_tickets")
    async def mark_used_tickets(self, inp: SweepInput) -> UsedResult:
        """Every admitted ticket of an event that has ended becomes ``used`` (in batches until none is due)."""
        total = 0
        while True:
            async with self.db.transaction() as session:
                n = await sweep.mark_used(session, utcnow(), inp.limit)
            total += n
            if n < inp.limit:
                break
        if total:
            activity.logger.info("tickets used", extra={"used": total})
        return UsedResult(used=total)

    @activity.defn(name="notify_voided_tickets")
    async def notify_voided_tickets(self, inp: SweepInput) -> NotifyResult:
        """Start the buyer's message run of each void that has none yet (one batch; the next sweep does more).
        A run that cannot be started is counted and left for the next sweep."""
        async with self.db.session() as session:
            pending = await sweep.unnotified_voids(session, inp.limit)
        notified = failed = 0
        for void in pending:
            try:
                await notify_void(activity.client(), self.db, void, task_queue=self.documents_task_queue, now=utcnow())
                notified += 1
            except Exception as exc:  # Temporal refused: the next sweep tries again
                activity.logger.warning("void message not started", extra={"ticket_id": str(void.ticket_id)})
                activity.logger.debug("cause", exc_info=exc)
                failed += 1
        return NotifyResult(notified=notified, failed=failed)
