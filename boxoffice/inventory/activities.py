"""Inventory activities: hold expiry, run by the ``hold-expiry-sweeper`` Schedule."""

from __future__ import annotations

from temporalio import activity

from boxoffice.db import Database
from boxoffice.inventory import holds
from boxoffice.inventory.contract import ExpireHoldsInput, ExpireHoldsResult
from boxoffice.models.types import utcnow


class InventoryActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn(name="expire_holds")
    async def expire_holds(self, inp: ExpireHoldsInput) -> ExpireHoldsResult:
        """Expire every unclaimed hold past its time and return its seats (batches until none are due)."""
        total = 0
        while True:
            async with self.db.transaction() as session:
                n = await holds.expire_due_holds(session, now=utcnow(), limit=inp.limit)
            total += n
            if n < inp.limit:
                break
        if total:
            activity.logger.info("expired holds", extra={"expired": total})
        return ExpireHoldsResult(expired=total)
