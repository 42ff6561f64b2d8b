"""Determinism guarded: recorded histories of every workflow type replay against today's workflow code.

``tests/histories/*.json`` are histories of representative runs (a paid checkout, a declined one, one that timed
out, a buyer's cancel, a requested refund, a late payment refunded automatically, fulfilment, hold expiry, the
webhook relay). ``Replayer`` runs today's workflow code against each; a change that would break runs already in
flight (a step added, removed or reordered without ``workflow.patched``) fails here.

Record them again (only when a change is meant to break old runs: see the README's "Upgrading"):

    BOXOFFICE_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/test_replay.py -k record
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.inventory.contract import ExpireHoldsInput
from boxoffice.temporal import converter_for
from boxoffice.waitlist.contract import SweepInput
from boxoffice.webhooks.contract import RelayInput
from boxoffice.worker import Workers
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.conftest import Tokens
from tests.harness import PAYLOAD_KEYS

HISTORIES = Path(__file__).parent / "histories"
RECORDING = bool(os.environ.get("BOXOFFICE_RECORD_HISTORIES"))
EXPECTED_TYPES = {
    "CheckoutWorkflow",
    "RefundWorkflow",
    "LatePaymentWorkflow",
    "FulfillmentWorkflow",
    "HoldExpiryWorkflow",
    "WebhookRelayWorkflow",
    "EventCancellationWorkflow",  # issue 13
    "EventChangeWorkflow",  # issue 13
    "WaitlistWorkflow",  # issue 13
    "WaitlistSweepWorkflow",  # issue 13
}


def _workflows() -> list[type]:
    from boxoffice.checkout.workflow import CheckoutWorkflow
    from boxoffice.events.workflow import EventCancellationWorkflow, EventChangeWorkflow
    from boxoffice.fulfilment.workflow import FulfillmentWorkflow
    from boxoffice.inventory.workflow import HoldExpiryWorkflow
    from boxoffice.refunds.workflow import RefundWorkflow
    from boxoffice.waitlist.workflow import WaitlistSweepWorkflow, WaitlistWorkflow
    from boxoffice.webhooks.workflow import LatePaymentWorkflow, WebhookRelayWorkflow

    return [
        CheckoutWorkflow,
        RefundWorkflow,
        LatePaymentWorkflow,
        WebhookRelayWorkflow,
        HoldExpiryWorkflow,
        FulfillmentWorkflow,
        EventCancellationWorkflow,
        EventChangeWorkflow,
        WaitlistWorkflow,
        WaitlistSweepWorkflow,
    ]


def _recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.skipif(RECORDING, reason="recording new histories")
async def test_every_workflow_type_has_a_recorded_history() -> None:
    kinds = {json.loads(p.read_text())["workflow_type"] for p in _recorded()}
    assert kinds >= EXPECTED_TYPES, f"no recorded history for {sorted(EXPECTED_TYPES - kinds)}"


@pytest.mark.skipif(RECORDING, reason="recording new histories")
@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    doc = json.loads(await asyncio.to_thread(path.read_text))
    history = WorkflowHistory.from_json(doc["workflow_id"], doc["history"])
    # The histories' payloads are encrypted with the suite's fixed test key (tests/harness.py).
    replayer = Replayer(workflows=_workflows(), data_converter=converter_for(PAYLOAD_KEYS))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure!r}"


# --- recording -------------------------------------------------------------------------------------------


async def _save(client: Client, name: str, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    await asyncio.wait_for(handle.result(), 60)
    history = await handle.fetch_history()
    desc = await handle.describe()
    doc = {"workflow_id": workflow_id, "workflow_type": desc.workflow_type, "history": history.to_json_dict()}
    (HISTORIES / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


@pytest.mark.skipif(not RECORDING, reason="set BOXOFFICE_RECORD_HISTORIES=1 to record histories")
async def test_record_histories(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, temporal: Client, worker: Workers
) -> None:
    """Drive each representative run through the API as buyers and organisers do, then save its history."""
    HISTORIES.mkdir(exist_ok=True)  # each history below is written anew; other tests' recordings are kept
    buyer = tokens.buyer()
    _event, tt = await setup_sale(api, tokens, base_price_cents=5000)

    async def bought(action: str, **extra: Any) -> dict[str, Any]:
        body = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)], **extra)).json()
        await press(api, body["payment_url"], action)
        return body

    paid = await bought("pay")
    await wait_order(api, buyer, paid["order_id"], lambda o: o["status"] == "fulfilled")
    await _save(temporal, "checkout-paid", paid["workflow_id"])
    await _save(temporal, "fulfillment", f"fulfillment-{paid['order_id']}")

    declined = await bought("decline")
    await _save(temporal, "checkout-declined", declined["workflow_id"])

    cancelled = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    assert (await api.post(f"/v1/orders/{cancelled['order_id']}/cancel", headers=buyer)).status_code == 200
    await _save(temporal, "checkout-buyer-cancel", cancelled["workflow_id"])

    r = await api.post(f"/v1/orders/{paid['order_id']}/refunds", json={}, headers=tokens.admin())
    assert r.status_code == 202, r.text
    await _save(temporal, "refund-requested", r.json()["workflow_id"])

    settings.payment_window_seconds = 2  # the next checkout times out; its buyer pays afterwards
    late = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])).json()
    await wait_order(api, buyer, late["order_id"], lambda o: o["status"] == "cancelled")
    await _save(temporal, "checkout-timeout", late["workflow_id"])
    await press(api, late["payment_url"], "pay")
    await _save(temporal, "late-payment", f"late-payment-{late['order_id']}")
    await wait_order(api, buyer, late["order_id"], lambda o: o["payment_status"] == "refunded")
    refunds = (await api.get(f"/v1/orders/{late['order_id']}/refunds", headers=tokens.admin())).json()
    await _save(temporal, "refund-automatic", refunds[0]["workflow_id"])

    queue = settings.checkout_task_queue
    await temporal.start_workflow("HoldExpiryWorkflow", ExpireHoldsInput(), id="hold-expiry-record", task_queue=queue)
    await _save(temporal, "hold-expiry", "hold-expiry-record")
    await temporal.start_workflow("WebhookRelayWorkflow", RelayInput(), id="webhook-relay-record", task_queue=queue)
    await _save(temporal, "webhook-relay", "webhook-relay-record")


@pytest.mark.skipif(not RECORDING, reason="set BOXOFFICE_RECORD_HISTORIES=1 to record histories")
async def test_record_event_histories(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, temporal: Client, worker: Workers
) -> None:
    """Issue 13: an event edited (its tickets re-issued, its buyer told), then cancelled (a paid order refunded, a
    free one voided, a checkout stopped). Records only these two histories (``-k record_event`` keeps the others)."""
    HISTORIES.mkdir(exist_ok=True)
    buyer, admin = tokens.buyer(), tokens.admin()
    event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    free = (
        await api.post(
            f"/v1/events/{event['id']}/ticket-types",
            json={"name": "Free", "capacity": 5, "pricing_model": "free", "base_price_cents": 0},
            headers=admin,
        )
    ).json()
    paid = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    await press(api, paid["payment_url"], "pay")
    await wait_order(api, buyer, paid["order_id"], lambda o: o["status"] == "fulfilled")
    gratis = (await checkout(api, tokens, [await hold(api, tokens, free["id"], 1)])).json()
    await wait_order(api, buyer, gratis["order_id"], lambda o: o["status"] == "fulfilled")

    r = await api.patch(f"/v1/events/{event['id']}", json={"venue": "Another Hall"}, headers=admin)
    assert r.status_code == 200, r.text
    await _save(temporal, "event-change", f"event-change-{event['id']}-1")

    await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])  # a checkout the cancellation stops
    r = await api.post(f"/v1/events/{event['id']}/cancel", json={"reason": "Storm"}, headers=admin)
    assert r.status_code == 202, r.text
    await _save(temporal, "event-cancellation", r.json()["workflow_id"])


@pytest.mark.skipif(not RECORDING, reason="set BOXOFFICE_RECORD_HISTORIES=1 to record histories")
async def test_record_waitlist_histories(
    api: httpx.AsyncClient, tokens: Tokens, settings: Settings, temporal: Client, worker: Workers
) -> None:
    """Issue 13: a waiting list (a buyer joins a sold-out type, a seat comes back and is offered to her, she declines
    it, the line is empty and the run ends) and the sweep. Records only these (``-k record_waitlist``)."""
    HISTORIES.mkdir(exist_ok=True)
    _event, tt = await setup_sale(api, tokens, capacity=1)
    held = await hold(api, tokens, tt["id"], 1, user="holder")
    joined = await api.post(f"/v1/ticket-types/{tt['id']}/waitlist", json={"quantity": 1}, headers=tokens.buyer("b1"))
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert (await api.delete(f"/v1/holds/{held}", headers=tokens.buyer("holder"))).status_code == 200
    for _ in range(300):
        offered = (await api.get(f"/v1/waitlist/{entry['id']}", headers=tokens.buyer("b1"))).json()
        if offered["status"] == "offered":
            break
        await asyncio.sleep(0.1)
    assert offered["status"] == "offered", offered
    assert (await api.delete(f"/v1/waitlist/{entry['id']}", headers=tokens.buyer("b1"))).status_code == 200
    await _save(temporal, "waitlist", entry["workflow_id"])
    queue = settings.checkout_task_queue
    await temporal.start_workflow("WaitlistSweepWorkflow", SweepInput(), id="waitlist-sweep-record", task_queue=queue)
    await _save(temporal, "waitlist-sweep", "waitlist-sweep-record")
