"""Inventory activities: claiming a checkout's holds, giving seats back, and hold expiry."""

from __future__ import annotations

from temporalio import activity

from boxoffice.activities.errors import typed_errors
from boxoffice.db import Database
from boxoffice.messages import ClaimHoldsInput, ClaimHoldsResult, ExpireHoldsInput, ExpireHoldsResult
from boxoffice.models.types import utcnow
from boxoffice.services import holds, orders


class InventoryActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn(name="claim_holds")
    async def claim_holds(self, inp: ClaimHoldsInput) -> ClaimHoldsResult:
        """Make the holds this checkout's, or fail with HoldNotFound / HoldExpired / HoldUnavailable."""
        async with typed_errors(), self.db.transaction() as session:
            return await orders.claim_holds(
                session,
                order_id=inp.order_id,
                organization_id=inp.organization_id,
                user_id=inp.user_id,
                hold_ids=inp.hold_ids,
                now=utcnow(),
            )

    @activity.defn(name="release_order_holds")
    async def release_order_holds(self, order_id: str) -> int:
        """Compensation: give back every seat the checkout still holds. Idempotent."""
        async with self.db.transaction() as session:
            return await orders.release_order_holds(session, order_id, utcnow())

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
