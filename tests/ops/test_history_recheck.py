"""An org admin's payment re-check (issue 11): ``POST /v1/orders/{id}/payment-check`` signals the checkout run, which
asks the provider at once and decides as it always does; it never goes around the run. Here the buyer's webhook is
lost and the run polls only every 10 minutes, so only the re-check can find the payment within the test."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from boxoffice.checkout.contract import CheckoutStatus
from boxoffice.config import Settings
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.harness import Tokens


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.payment_poll_interval_seconds = 600
    settings.payment_window_seconds = 900
    return settings


async def test_a_recheck_finds_a_payment_whose_webhook_was_lost(
    api: httpx.AsyncClient, app: Any, worker: Any, temporal: Client, tokens: Tokens
) -> None:
    _event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])
    order_id, wf = r.json()["order_id"], r.json()["workflow_id"]
    url = f"/v1/orders/{order_id}/payment-check"

    # Who may ask: an admin of the order's organisation only.
    for headers, status in (
        ({}, 401),
        (tokens.buyer(), 403),
        (tokens.scanner(), 403),
        (tokens.operator(org="org1"), 403),
        (tokens.admin(org="org2"), 404),
    ):
        refused = await api.post(url, headers=headers)
        assert refused.status_code == status, (headers, refused.text)
    assert (await api.post(f"/v1/orders/{uuid.uuid4()}/payment-check", headers=tokens.admin())).status_code == 404
    status_now = await temporal.get_workflow_handle(wf).query("status", result_type=CheckoutStatus)
    assert status_now.rechecks_requested == 0  # nobody above reached the run

    # Before the buyer pays, a re-check asks the provider and changes nothing.
    asked = await api.post(url, headers=tokens.admin())
    assert asked.status_code == 202, asked.text
    assert asked.json()["workflow_id"] == wf and asked.json()["status"] == "pending"
    await wait_status(temporal, wf, lambda s: s.rechecks_requested == 1 and s.last_payment_state == "pending")
    assert (await api.get(f"/v1/orders/{order_id}", headers=tokens.buyer())).json()["status"] == "pending"

    # The buyer pays; the provider's webhook is lost, and the next poll is 10 minutes away.
    assert (await press(api, r.json()["payment_url"], "pay", webhook="drop")).status_code == 303
    assert (await api.post(url, headers=tokens.admin())).status_code == 202
    order = await wait_order(api, tokens.buyer(), order_id, lambda o: o["status"] in ("paid", "fulfilled"))
    assert order["status"] in ("paid", "fulfilled") and order["payment_status"] == "paid", order
    status_now = await temporal.get_workflow_handle(wf).query("status", result_type=CheckoutStatus)
    assert status_now.rechecks_requested == 2 and status_now.last_payment_state == "succeeded"

    # Once the run has ended there is nothing to re-check.
    await temporal.get_workflow_handle(wf).result()
    closed = await api.post(url, headers=tokens.admin())
    assert (closed.status_code, closed.json()["code"]) == (409, "checkout_closed")


async def wait_status(temporal: Client, workflow_id: str, done: Any, timeout: float = 20) -> CheckoutStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = await temporal.get_workflow_handle(workflow_id).query("status", result_type=CheckoutStatus)
        if done(status) or time.monotonic() > deadline:
            assert done(status), status
            return status
        await asyncio.sleep(0.1)
