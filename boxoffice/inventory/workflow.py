"""HoldExpiryWorkflow: started by the ``hold-expiry-sweeper`` Schedule to give expired seats back."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.inventory.activities import InventoryActivities
    from boxoffice.inventory.contract import ExpireHoldsInput, ExpireHoldsResult


@workflow.defn(name="HoldExpiryWorkflow")
class HoldExpiryWorkflow:
    @workflow.run
    async def run(self, inp: ExpireHoldsInput) -> ExpireHoldsResult:
        return await workflow.execute_local_activity_method(
            InventoryActivities.expire_holds,
            inp,
            start_to_close_timeout=timedelta(seconds=30),
            summary="expire_holds: give back the seats of expired holds",
        )
