"""WebhookRelayWorkflow: started by the ``webhook-relay`` Schedule to deliver inbox events left behind."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.activities.relay import RelayActivities
    from boxoffice.messages import RelayInput, RelayResult


@workflow.defn(name="WebhookRelayWorkflow")
class WebhookRelayWorkflow:
    @workflow.run
    async def run(self, inp: RelayInput) -> RelayResult:
        return await workflow.execute_activity_method(
            RelayActivities.relay_webhooks, inp, start_to_close_timeout=timedelta(minutes=2)
        )
