"""End to end through each provider's fake (Paystack, Yoco, Stripe): refunds an organiser asks for, against duplicate,
refused, failed and out-of-order provider replies, with the books checked after every scenario (the stack is
``tests/e2e_stack.py``). Each scenario runs once per provider.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from boxoffice.models import Refund
from boxoffice.refunds.contract import QUERY_REFUND_STATUS, RefundProgress
from boxoffice.refunds.workflow import RefundWorkflow
from tests.books import assert_books_balanced, assert_refunds_consistent
from tests.e2e_stack import Stack, paid, refund_path


async def test_duplicate_webhooks_one_set_of_tickets_then_partial_refund(stack: Stack) -> None:
    stack.fake.duplicate_webhooks = 2  # every webhook arrives twice
    order = await stack.buy(3)
    sent = await stack.pay(order)
    order = await stack.wait_paid(order["id"])
    for webhook in sent if isinstance(sent, list) else [sent]:
        await stack.fake.redeliver(webhook)  # and a provider retry, much later
    assert all(d.status == 200 for d in stack.fake.deliveries), stack.fake.deliveries
    order = await stack.order(order["id"])
    assert len(order["tickets"]) == 3 and order["transaction"]["status"] == "succeeded"
    assert order["transaction"]["captured_amount"] == 15500
    await assert_books_balanced(stack.db)

    one = order["tickets"][0]["id"]
    refund = await stack.refund(order["id"], ticket_ids=[one], reason="cannot attend")
    assert refund["amount"] == 5000 and refund["status"] == "requested"
    busy = await stack.api.post(f"/v1/orders/{order['id']}/refunds", json={}, headers=stack.tokens.admin())
    assert (busy.status_code, busy.json()["code"]) == (409, "refund_in_progress")
    await stack.settle(await stack.provider_refund_id(refund["refund_id"]))
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"

    order = await stack.order(order["id"])
    assert order["payment_status"] == "partially_refunded" and paid(order)
    assert order["transaction"]["status"] == "succeeded" and order["transaction"]["refunded_amount"] == 5000
    assert sorted(t["status"] for t in order["tickets"]) == ["active", "active", "refunded"]
    sent_refunds = stack.fake.requests_to("POST", refund_path(stack.provider))
    assert [r for r in sent_refunds if "amount" in r.body.decode()]  # a partial amount was sent
    await assert_refunds_consistent(stack.db)


async def test_refund_failure_is_retried_visibly_until_it_succeeds(stack: Stack) -> None:
    order = await stack.buy(2)
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])

    stack.fake.fail_next(1, 400)  # the provider refuses the first attempt outright
    refund = await stack.refund(order["id"])
    assert refund["amount"] == 10500
    first = await stack.provider_refund_id(refund["refund_id"])
    await stack.settle(first, succeed=False)  # accepted, then failed later (refund.failed webhook)
    second = await stack.provider_refund_id(refund["refund_id"], other_than=first)
    handle = stack.temporal.get_workflow_handle_for(RefundWorkflow.run, f"refund-{refund['refund_id']}")
    progress = await handle.query(QUERY_REFUND_STATUS, result_type=RefundProgress)
    assert progress.provider_failures >= 1 and progress.last_error, progress
    listed = (await stack.api.get(f"/v1/orders/{order['id']}/refunds", headers=stack.tokens.admin())).json()
    assert listed[0]["status"] != "succeeded" and listed[0]["provider_failures"] == 2 and listed[0]["failure_reason"]
    assert (await stack.order(order["id"]))["transaction"]["refunded_amount"] == 0  # never marked done early

    await stack.settle(second)
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"
    order = await stack.order(order["id"])
    assert order["status"] == "refunded" and order["transaction"]["status"] == "refunded"
    assert {t["status"] for t in order["tickets"]} == {"refunded"}
    # Visible in the Temporal UI: an execute_refund attempt that ran after a RefundFailed failure.
    retried = [
        e.activity_task_started_event_attributes
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.last_failure.application_failure_info.type == "RefundFailed"
    ]
    assert retried and retried[0].attempt >= 2
    if stack.provider != "paystack":  # Paystack has no idempotency key: the merchant note carries our refund id
        keys = [r.headers.get("idempotency-key") for r in stack.fake.requests_to("POST", refund_path(stack.provider))]
        rid = refund["refund_id"]
        assert {f"refund-{rid}-1", f"refund-{rid}-2"} <= set(keys), keys
    await assert_books_balanced(stack.db)


async def test_refund_webhook_before_charge_webhook_ends_consistently(stack: Stack) -> None:
    stack.fake.hold_webhooks = True  # nothing is delivered until flushed
    order = await stack.buy(2)
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])  # by polling
    refund = await stack.refund(order["id"])
    await stack.settle(await stack.provider_refund_id(refund["refund_id"]))
    await stack.fake.flush_webhooks(reverse=True)  # refund events first, then the charge's
    assert all(d.status == 200 for d in stack.fake.deliveries), stack.fake.deliveries
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"

    # The charge webhook found its checkout closed: a late-payment run confirmed there is nothing to give back.
    late = stack.temporal.get_workflow_handle(f"late-payment-{order['id']}")
    assert "nothing to refund" in await asyncio.wait_for(late.result(), 30)
    order = await stack.order(order["id"])
    assert order["status"] == "refunded" and order["transaction"]["refunded_amount"] == order["total_amount"]
    async with stack.db.session() as s:
        rows = (await s.execute(select(Refund))).scalars().all()
    assert [r.kind for r in rows] == ["requested"]
    await assert_books_balanced(stack.db)
