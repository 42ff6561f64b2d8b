"""The webhook relay: delivers inbox events whose first delivery failed (Temporal down, a crash)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from boxoffice.db import Database
from boxoffice.models.types import utcnow
from boxoffice.webhooks import inbox
from boxoffice.webhooks.contract import RelayInput, RelayResult


class RelayActivities:
    def __init__(self, db: Database, task_queue: str):
        self.db, self.task_queue = db, task_queue

    @activity.defn(name="relay_webhooks")
    async def relay_webhooks(self, inp: RelayInput) -> RelayResult:
        delivered = failed = 0
        for inbox_id in await inbox.pending(self.db, utcnow() - timedelta(seconds=inp.older_than_seconds)):
            try:
                await inbox.deliver(self.db, activity.client(), inbox_id, task_queue=self.task_queue, relay=True)
                delivered += 1
            except Exception as exc:
                failed += 1
                await inbox.mark_failed_attempt(self.db, inbox_id, repr(exc), relay=True)
        return RelayResult(delivered=delivered, failed=failed)
