"""Values that schema validation cannot see are refused up front with a stable 422 code, never a 500.

- An order's total must fit the money columns (PostgreSQL INTEGER: at most 2**31 - 1 minor units), fees and tips
  included: ``order_total_too_large``, at once and changing nothing. Before issue 10, ``precheck`` priced the
  order without a bound, the checkout run started, and ``open_order`` failed on "integer out of range" and was
  retried: the buyer waited 23 s for 409 ``checkout_failed`` (with no worker, as here, 25 s for 503
  ``checkout_pending``), so the refusal tests failed there.
- A validly signed webhook whose fields the inbox cannot hold (a reference beyond its column, NUL, not text):
  ``webhook_unusable``, nothing recorded. Before, the insert failed: 500.
- NUL in a stored string that comes from a signed token or from the sandbox's API (neither passes through the
  bodies' schemas): 401 ``invalid_token`` and 422. Before, the hold's or the payment's insert failed: 500.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.service import RPCError

from boxoffice.auth import Principal, Role, mint_token
from boxoffice.checkout.contract import checkout_workflow_id
from boxoffice.checkout.pricing import MAX_ORDER_TOTAL
from boxoffice.checkout.requests import order_id_for
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Hold, Order, WebhookEvent
from boxoffice.payments.sandbox import SIGNATURE_HEADER, sign
from tests.books import assert_books_balanced
from tests.checkout_helpers import press, wait_order
from tests.harness import JWT_SECRET, SANDBOX_WEBHOOK_SECRET, Tokens
from tests.helpers import make_event, make_ticket_type

PRICE = 100_000_000  # the most one ticket may cost (the schema's bound)


@pytest.fixture(autouse=True)
def no_buyer_caps(settings: Settings) -> None:
    """These orders hold more seats than one buyer may by default."""
    settings.buyer_hold_limit_per_ticket_type = settings.buyer_hold_limit_per_event = 0


async def _hold(api: httpx.AsyncClient, tokens: Tokens, tt: dict[str, Any], quantity: int) -> str:
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": quantity}, headers=tokens.buyer())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


Case = tuple[dict[str, Any], dict[str, Any], int, dict[str, Any], int]
CASES: dict[str, Case] = {
    # name: (event fields, ticket type fields, seats, checkout fields, the total it comes to)
    "the audit's 100,000,000 × 100 seats": ({}, {}, 100, {}, 100 * PRICE),
    "one seat too many": ({}, {}, 22, {}, 22 * PRICE),
    "a 100 % service fee": ({"service_fee_bps": 10_000}, {}, 11, {}, 22 * PRICE),
    "a fixed service fee": ({"service_fee_fixed_cents": PRICE}, {}, 21, {}, 22 * PRICE),
    "a tip": ({}, {}, 21, {"tip_cents": PRICE}, 22 * PRICE),
    "pay what you want": (
        {},
        {"pricing_model": "pay_what_you_want", "base_price_cents": 0, "minimum_price_cents": 0},
        22,
        {"unit_prices_cents": "all at PRICE"},
        22 * PRICE,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_total_beyond_the_money_range_is_refused_at_once(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, temporal: Client, case: str
) -> None:
    event_fields, tt_fields, seats, extra, total = CASES[case]
    admin = tokens.admin()
    event = await make_event(api, admin, **event_fields)
    tt = await make_ticket_type(api, admin, event["id"], **{"capacity": 100, "base_price_cents": PRICE, **tt_fields})
    hold_id = await _hold(api, tokens, tt, seats)
    if extra.get("unit_prices_cents"):
        extra = {"unit_prices_cents": {hold_id: PRICE}}
    key = f"too-large-{uuid.uuid4()}"
    body = {"hold_ids": [hold_id], "provider": "sandbox", "buyer": {"email": "a@example.com", "name": "A"}, **extra}
    r = await api.post("/v1/checkouts", json=body, headers={**tokens.buyer(), "Idempotency-Key": key})

    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "order_total_too_large"
    assert (problem["total_amount"], problem["max_total_amount"]) == (total, MAX_ORDER_TOTAL)
    assert r.headers["content-type"] == "application/problem+json"
    # Nothing changed and nothing started: no order, the hold still the buyer's own, no checkout run.
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Order))).scalar_one() == 0
        hold = await s.get(Hold, uuid.UUID(hold_id))
        assert hold is not None and hold.status == "active" and hold.order_id is None
    order_id = order_id_for(Principal(user_id="alice", org_id="org1", role=Role.BUYER), key)
    with pytest.raises(RPCError):
        await temporal.get_workflow_handle(checkout_workflow_id(order_id)).describe()


async def test_the_largest_total_that_fits_is_sold_and_paid(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    """The bound is the columns' own: an order of exactly 2**31 - 1 is stored, paid and booked."""
    admin = tokens.admin()
    fixed_fee = MAX_ORDER_TOTAL - 21 * PRICE
    event = await make_event(api, admin, service_fee_fixed_cents=fixed_fee)
    tt = await make_ticket_type(api, admin, event["id"], capacity=100, base_price_cents=PRICE)
    hold_id = await _hold(api, tokens, tt, 21)
    body = {"hold_ids": [hold_id], "provider": "sandbox", "buyer": {"email": "a@example.com", "name": "A"}}
    r = await api.post("/v1/checkouts", json=body, headers=tokens.buyer())
    assert r.status_code == 201, r.text
    assert r.json()["total_amount"] == MAX_ORDER_TOTAL
    await press(api, r.json()["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), r.json()["order_id"], lambda o: o["payment_status"] == "paid")
    assert order["total_amount"] == MAX_ORDER_TOTAL and order["payment_status"] == "paid"
    assert len(order["tickets"]) == 21
    await assert_books_balanced(db)


def _signed(doc: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(doc).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: sign(SANDBOX_WEBHOOK_SECRET, body)}


def _event(**data: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": f"sbe_{uuid.uuid4().hex}", "type": "payment.succeeded"}
    doc["data"] = {"reference": f"bo-{uuid.uuid4()}", "amount": 100, "currency": "ZAR", "status": "succeeded", **data}
    return doc


UNUSABLE = {
    "a reference beyond its column": _event(reference="bo-" + "x" * 200),
    "a reference with NUL": _event(reference="bo-\x00"),
    "a reference that is not text": _event(reference=["bo-1"]),
    "an event id beyond its column": {**_event(), "id": "e" * 300},
    "an event id with NUL": {**_event(), "id": "sbe_\x00"},
    "an event id that is not text": {**_event(), "id": {"nested": 1}},
    "a type with NUL": {**_event(), "type": "payment.\x00"},
}


@pytest.mark.parametrize("case", list(UNUSABLE))
async def test_a_signed_webhook_the_inbox_cannot_hold_is_422(api: httpx.AsyncClient, db: Database, case: str) -> None:
    body, headers = _signed(UNUSABLE[case])
    r = await api.post("/v1/webhooks/sandbox", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "webhook_unusable"
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 0
    # The same event with fields the inbox can hold is recorded (the 422 is about the fields, nothing else).
    body, headers = _signed(_event())
    r = await api.post("/v1/webhooks/sandbox", content=body, headers=headers)
    assert r.status_code == 200, r.text
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 1


async def test_nul_in_a_signed_token_is_refused_not_stored(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"])
    for user, org in (("al\x00ice", "org1"), ("alice", "org\x001")):
        token = mint_token(JWT_SECRET, user=user, org=org, role="buyer")
        r = await api.post(
            "/v1/holds",
            json={"ticket_type_id": tt["id"], "quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text
    admin_with_nul = mint_token(JWT_SECRET, user="a", org="o\x00", role="org_admin")  # would create the org
    r = await api.get("/v1/events", headers={"Authorization": f"Bearer {admin_with_nul}"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Hold))).scalar_one() == 0


@pytest.mark.parametrize(
    "field", [{"description": "a\x00b"}, {"email": "a\x00@b.co"}, {"reference": "bo-\x00"}, {"amount": 2**31}]
)
async def test_the_sandbox_api_refuses_what_it_cannot_store(api: httpx.AsyncClient, field: dict[str, Any]) -> None:
    body = {"reference": f"bo-{uuid.uuid4()}", "amount": 100, "currency": "ZAR", "email": "a@b.co", **field}
    r = await api.post(
        "/sandbox/api/payments", json=body, headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_SECRET}"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
