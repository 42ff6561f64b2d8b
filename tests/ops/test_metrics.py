"""Business metrics as operators scrape them: after a checkout, a scan and a refund, each process's /metrics holds
the boxoffice_* series of what that process did (the API its holds, webhooks, refund requests and scans; the workers
their checkouts, payments, tickets and refund settlements), counted once each, and every worker serves the Temporal
SDK's own worker metrics beside them.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.ops.buying import TOKENS, hold_and_checkout, order, press, sale, wait_for
from tests.ops.conftest import Deployment
from tests.ops.dashboard import queried
from tests.ops.processes import Metrics, total

# The SDK's series the dashboard reads (the Core SDK's Prometheus names; durations in seconds): every worker has its
# slots and pollers from the start, and the latencies of the tasks it ran.
SDK_EVERY_WORKER = {"temporal_worker_task_slots_available", "temporal_worker_task_slots_used", "temporal_num_pollers"}
SDK_ON_FIRST_OCCURRENCE = {"temporal_workflow_failed_total"}
SDK_SERIES = {
    "temporal_workflow_task_execution_latency_bucket",
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_local_activity_execution_latency_bucket",
    "temporal_activity_execution_latency_bucket",
    "temporal_workflow_endtoend_latency_bucket",
    "temporal_workflow_completed_total",
}


async def scrape_all(d: Deployment) -> tuple[Metrics, list[Metrics], list[Metrics]]:
    """API 1's metrics, each checkout worker's own metrics, and every worker's SDK metrics."""
    api = await Metrics.scrape(f"{d.api_urls[0]}/metrics")
    own, sdk = [], []
    for w in [*d.checkout_workers, d.documents_worker]:
        mine, theirs = await w.scrape()
        own.append(mine)
        sdk.append(theirs)
    return api, own, sdk


async def test_each_process_counts_what_it_does(deployment: Deployment, org: str) -> None:
    d, api = deployment, deployment.apis[0]
    try:
        await run_scenario(d, api, org)
    except BaseException:
        print(d.stack.outputs())
        raise


async def run_scenario(d: Deployment, api: httpx.AsyncClient, org: str) -> None:
    event, tt = await sale(api, org, capacity=10)
    api_before, workers_before, _ = await scrape_all(d)

    # A checkout of two tickets, paid on the sandbox's page: the webhook, the sale, the PDF.
    started = await hold_and_checkout(api, org, tt["id"], "alice", 2)
    await press(api, started["payment_url"], "pay")
    fulfilled = await wait_for(
        lambda: order(api, org, started["order_id"]), lambda o: o["status"] == "fulfilled", 60, "the order"
    )
    # A door scans one of its tickets, then the organiser refunds the order.
    ticket = fulfilled["tickets"][0]
    r = await api.post(
        "/v1/scans",
        json={"ticket_code": ticket["ticket_code"], "gate_id": "north", "event_id": event["id"]},
        headers=TOKENS.scanner(org=org),
    )
    assert r.status_code == 200, r.text
    scan_result = r.json()["result"]
    r = await api.post(f"/v1/orders/{started['order_id']}/refunds", json={}, headers=TOKENS.admin(org=org))
    assert r.status_code == 202, r.text
    refund_id = r.json()["refund_id"]

    async def refund() -> dict[str, Any]:
        listed = await api.get(f"/v1/orders/{started['order_id']}/refunds", headers=TOKENS.admin(org=org))
        return next(x for x in listed.json() if x["refund_id"] == refund_id)

    await wait_for(refund, lambda x: x["status"] == "succeeded", 60, "the refund")
    refunded = await wait_for(
        lambda: order(api, org, started["order_id"]), lambda o: o["status"] == "refunded", 30, "the order"
    )
    assert all(t["status"] == "refunded" for t in refunded["tickets"])

    api_after, workers_after, sdk = await scrape_all(d)

    def api_delta(name: str, **labels: str) -> float:
        return api_after.value(name, **labels) - api_before.value(name, **labels)

    def worker_delta(name: str, **labels: str) -> float:
        return total(workers_after, name, **labels) - total(workers_before, name, **labels)

    # The API process: what happened in its requests.
    assert api_delta("boxoffice_holds_taken_total") == 1
    assert api_delta("boxoffice_hold_seats_taken_total") == 2
    assert api_delta("boxoffice_webhook_deliveries_total", provider="sandbox", outcome="recorded") >= 1
    assert api_delta("boxoffice_webhook_deliveries_total", provider="sandbox", outcome="delivered") >= 1
    assert api_delta("boxoffice_refunds_total", kind="requested", state="requested") == 1
    assert api_delta("boxoffice_scans_total", result=scan_result, direction="entry") == 1
    # …and nothing the workers do: a series counted in two processes would be counted twice by Prometheus.
    assert api_after.value("boxoffice_checkouts_started_total") == 0
    assert api_after.value("boxoffice_tickets_issued_total") == 0

    # The worker processes: the checkout's steps and the refund's settlement, each counted exactly once.
    assert worker_delta("boxoffice_checkouts_started_total", provider="sandbox") == 1
    assert worker_delta("boxoffice_checkouts_paid_total", provider="sandbox") == 1
    assert worker_delta("boxoffice_tickets_issued_total") == 2
    assert worker_delta("boxoffice_payment_wait_seconds_count", provider="sandbox", outcome="paid") == 1
    # (The sandbox confirms a refund in its reply, so this one goes from requested straight to succeeded.)
    assert worker_delta("boxoffice_refunds_total", kind="requested", state="succeeded") == 1
    assert worker_delta("boxoffice_refunds_total", kind="requested", state="failed") == 0
    assert worker_delta("boxoffice_holds_taken_total") == 0

    # Every worker serves the SDK's own metrics: task slots, workflow and activity latencies, completions.
    for scrape in sdk:
        assert not SDK_EVERY_WORKER - scrape.names(), sorted(scrape.names())
    served = set().union(*(m.names() for m in sdk))
    assert not SDK_SERIES - served, (SDK_SERIES - served, sorted(served))
    # The dashboard's SDK panels read series a worker really serves (failures appear once one happens).
    unserved = queried("temporal_") - served - SDK_ON_FIRST_OCCURRENCE
    assert not unserved, f"the dashboard reads SDK series no worker serves: {unserved}"
    assert sum(m.value("temporal_workflow_completed_total", workflow_type="CheckoutWorkflow") for m in sdk) >= 1
    assert sum(m.value("temporal_workflow_completed_total", workflow_type="FulfillmentWorkflow") for m in sdk) >= 1
