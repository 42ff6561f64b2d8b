"""Readable runs (issue 11), as an operator reads them with the ``temporal`` CLI against the real server: a checkout
is found by its order id, its event id and its status with ``temporal workflow list --query``; its history names
every step (summaries readable without the codec); its current details and ``status`` query say what it waits for,
until when, and what it undid; the CLI decodes payloads only through the API's codec endpoint with an operator's
token."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from boxoffice.checkout.contract import CheckoutStatus, checkout_workflow_id
from boxoffice.config import Settings
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.harness import Tokens
from tests.ops.history import Cli, served, summaries

HISTORIES = Path(__file__).parent.parent / "histories"
HAPPY_STEPS = {"open_order", "initiate_payment", "verify_payment", "complete_order", "start_fulfillment"}
UNDO_STEPS = ["expire_payment", "cancel_order", "release_order_holds"]  # newest first, as they unwind


def is_step(event: dict[str, Any]) -> bool:
    """An activity's scheduling, a child run's start, or a local activity's marker (a patch marker is not a step)."""
    if event["eventType"] in (
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
        "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
    ):
        return True
    marker = event.get("markerRecordedEventAttributes") or {}
    return marker.get("markerName") == "core_local_activity"


def steps(events: list[dict[str, Any]]) -> list[str]:
    """The step names of a history's activities and local activities (their summaries' first word), in order;
    fails if one carries no summary."""
    found = summaries([e for e in events if is_step(e)])
    unnamed = [kind for kind, text in found if not text]
    assert not unnamed, f"steps without a summary: {unnamed}"
    return [str(text).split(":", 1)[0] for _kind, text in found]


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_every_step_of_every_recorded_run_carries_a_summary(path: Path) -> None:
    """The recorded histories (tests/histories/, one or more per workflow type) name every step in clear text."""
    events = json.loads(path.read_text())["history"]["events"]
    named = steps(events)
    assert named and "<encrypted>" not in named, (path.name, named)
    leaked = [text for _kind, text in summaries(events) if text and "@" in text and "***@" not in text]
    assert not leaked, leaked


async def test_a_checkout_is_found_by_order_event_and_status_and_its_history_names_each_step(
    api: httpx.AsyncClient, app: Any, worker: Any, temporal: Client, tokens: Tokens
) -> None:
    cli = Cli(temporal)
    event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])
    assert r.status_code == 201, r.text
    order_id, wf = r.json()["order_id"], r.json()["workflow_id"]
    assert wf == checkout_workflow_id(order_id)

    # Waiting for the buyer: found by its status within its event, and its run says what it waits for, until when.
    waiting = f'BoxofficeCheckoutStatus="awaiting_payment" AND BoxofficeEventId="{event["id"]}"'
    assert await cli.list_ids(waiting, wf) == [wf]
    details = await cli.current_details(wf)
    assert details.startswith("Waiting for the buyer to pay through sandbox until ") and "every 2 s" in details
    status = await temporal.get_workflow_handle(wf).query("status", result_type=CheckoutStatus)
    assert (status.status, status.waiting_for, status.step) == ("awaiting_payment", "payment", None)
    assert status.deadline is not None and status.deadline == status.payment_deadline
    assert status.compensations_registered == ["release_order_holds", "cancel_order", "expire_payment"]
    assert status.compensations_done == [] and status.payment_checks >= 0

    await press(api, r.json()["payment_url"], "pay")
    await wait_order(api, tokens.buyer(), order_id, lambda o: o["status"] == "fulfilled")
    await temporal.get_workflow_handle(wf).result()

    assert await cli.list_ids(f'BoxofficeOrderId="{order_id}"', wf) == [wf]
    by_event = await cli.list_ids(f'BoxofficeEventId="{event["id"]}" AND WorkflowType="CheckoutWorkflow"', wf)
    assert by_event == [wf]
    paid = 'BoxofficeCheckoutStatus="paid" AND BoxofficeOrganizationId="org1"'
    assert wf in await cli.list_ids(paid, wf)

    history = await cli.json("workflow", "show", "-w", wf)
    named = steps(history["events"])
    assert set(named) >= HAPPY_STEPS, named
    assert named[:2] == ["open_order", "initiate_payment"] and named[-2:] == ["complete_order", "start_fulfillment"]
    fulfilment = steps((await cli.json("workflow", "show", "-w", f"fulfillment-{order_id}"))["events"])
    assert {"render_ticket_pdf", "send_message", "mark_fulfilled"} <= set(fulfilment), fulfilment

    described = await cli.json("workflow", "describe", "-w", wf)
    summary = json.loads(base64.b64decode(described["executionConfig"]["userMetadata"]["summary"]["data"]))
    assert summary == f"Order {order_id} · a***@e***.com · ZAR\xa0100.00", summary  # alice@example.com, 2 × 50.00


async def test_a_cancelled_checkout_shows_what_it_undid(
    api: httpx.AsyncClient, app: Any, worker: Any, temporal: Client, tokens: Tokens
) -> None:
    cli = Cli(temporal)
    _event, tt = await setup_sale(api, tokens)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])
    order_id, wf = r.json()["order_id"], r.json()["workflow_id"]
    assert (await api.post(f"/v1/orders/{order_id}/cancel", headers=tokens.buyer())).status_code == 200
    await temporal.get_workflow_handle(wf).result()

    status = await temporal.get_workflow_handle(wf).query("status", result_type=CheckoutStatus)
    assert (status.status, status.cancelled_reason, status.waiting_for) == ("cancelled", "buyer_cancelled", None)
    assert status.compensations_done == UNDO_STEPS
    assert await cli.list_ids(f'BoxofficeCheckoutStatus="cancelled" AND BoxofficeOrderId="{order_id}"', wf) == [wf]
    named = steps((await cli.json("workflow", "show", "-w", wf))["events"])
    assert named[-len(UNDO_STEPS) :] == UNDO_STEPS, named
    details = await cli.current_details(wf)
    assert details == "Cancelled (buyer_cancelled); undone: expire_payment, cancel_order, release_order_holds."


async def test_the_cli_decodes_payloads_only_through_the_codec_endpoint_with_an_operators_token(
    api: httpx.AsyncClient, app: Any, worker: Any, temporal: Client, tokens: Tokens, settings: Settings
) -> None:
    cli = Cli(temporal)
    _event, tt = await setup_sale(api, tokens)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])
    order_id, wf = r.json()["order_id"], r.json()["workflow_id"]

    def started_input(events: list[dict[str, Any]]) -> dict[str, Any]:
        return events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]

    sealed = started_input((await cli.json("workflow", "show", "-w", wf))["events"])
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert order_id.encode() not in base64.b64decode(sealed["data"])

    async with served(app) as url:
        operator = tokens.operator()["Authorization"]
        codec = ("--codec-endpoint", f"{url}/codec", "--codec-auth", operator)
        opened = started_input((await cli.json("workflow", "show", "-w", wf, *codec))["events"])
        assert base64.b64decode(opened["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(opened["data"]))["order_id"] == order_id
        # The status query's answer is a payload too: the CLI reads it through the codec.
        answer = await cli.json("workflow", "query", "-w", wf, "--name", "status", *codec)
        assert answer["queryResult"][0]["waiting_for"] == "payment", answer

        # Anyone else's token is refused by the endpoint (403): the CLI gets nothing decoded and says so.
        buyer = ("--codec-endpoint", f"{url}/codec", "--codec-auth", tokens.buyer()["Authorization"])
        status, out, err = await cli.attempt("workflow", "show", "-w", wf, *buyer, "--output", "json")
        assert status != 0 and order_id not in out, (status, out[:300], err[:300])
