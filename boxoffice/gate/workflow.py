"""CheckinSweepWorkflow: started by the ``checkin-sweeper`` Schedule. Admitted tickets of events that have ended
become ``used``; voids whose buyer was not told get their message run started."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.gate.activities import GateActivities
    from boxoffice.gate.contract import CHECKIN_SWEEP_WORKFLOW, SweepInput, SweepResult


@workflow.defn(name=CHECKIN_SWEEP_WORKFLOW)
class CheckinSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepResult:
        used = await workflow.execute_local_activity_method(
            GateActivities.mark_used_tickets,
            inp,
            start_to_close_timeout=timedelta(seconds=60),
            summary="mark_used_tickets: admitted tickets of ended events become used",
        )
        told = await workflow.execute_local_activity_method(
            GateActivities.notify_voided_tickets,
            inp,
            start_to_close_timeout=timedelta(seconds=60),
            summary="notify_voided_tickets: tell buyers of voided tickets",
        )
        return SweepResult(used=used.used, notified=told.notified, failed=told.failed)
