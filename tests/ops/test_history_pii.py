"""Buyers' data out of workflow history (issue 11), on a real checkout through the API, the real worker and the real
Temporal server: the histories read back through the server's API hold no buyer's or attendee's name or e-mail in
clear text anywhere (inputs, results, markers, failures, summaries); the checkout's input carries ids instead; the
codec endpoint decrypts the histories for an operator and refuses everyone else; operators' tokens open nothing of
the business API."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from google.protobuf import json_format
from sqlalchemy import func, select
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client

from boxoffice.auth import Role, mint_token
from boxoffice.codec import ENCODING
from boxoffice.db import Database
from boxoffice.models import CheckoutDraft, Order
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.harness import Tokens
from tests.ops.history import payloads_in

BUYER = {"email": "ada.lovelace.pii@example.org", "name": "Ada Lovelace-Byron"}
ATTENDEES = [
    {"name": "Charles Babbage-Smith", "email": "charles.babbage.pii@example.org"},
    {"name": "Mary Somerville-Fairfax", "email": "mary.somerville.pii@example.org"},
]
PERSONAL = [BUYER["email"], BUYER["name"], *(a[k] for a in ATTENDEES for k in ("name", "email"))]
JSON = {"Content-Type": "application/json", "X-Namespace": "default"}


def leaks(raw: bytes) -> list[str]:
    """The personal strings found in ``raw`` (as UTF-8, or as JSON would escape them)."""
    return [s for s in PERSONAL if s.encode() in raw or json.dumps(s).encode() in raw]


async def decode(api: httpx.AsyncClient, headers: dict[str, str], payloads: list[Payload]) -> httpx.Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads))
    return await api.post("/codec/decode", content=body, headers={**JSON, **headers})


def opened(response: httpx.Response) -> list[Payload]:
    assert response.status_code == 200, response.text
    return list(json_format.Parse(response.content, Payloads()).payloads)


async def test_no_personal_data_in_history_and_only_operators_decrypt_it(
    api: httpx.AsyncClient, app: Any, worker: Any, temporal: Client, tokens: Tokens, db: Database
) -> None:
    _event, tt = await setup_sale(api, tokens, base_price_cents=5000)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)], buyer=BUYER, attendees=ATTENDEES)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    await press(api, r.json()["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), order_id, lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order

    # The buyer's details live in the database: the order has them, and no draft is left behind.
    async with db.session() as session:
        saved = await session.get(Order, uuid.UUID(order_id))
        assert saved is not None and (saved.buyer_email, saved.buyer_name) == (BUYER["email"], BUYER["name"])
        assert saved.attendees == ATTENDEES
        assert (await session.execute(select(func.count()).select_from(CheckoutDraft))).scalar_one() == 0

    # Every run of the order, read through the server's API: nothing personal in clear text.
    runs = [f"checkout-{order_id}", f"fulfillment-{order_id}"]
    histories = {wf: await temporal.get_workflow_handle(wf).fetch_history() for wf in runs}
    for workflow_id, history in histories.items():
        raw = b"".join(e.SerializeToString() for e in history.events)
        assert leaks(raw) == [], f"{workflow_id}: {leaks(raw)}"
        sealed = [p for p in payloads_in(history.events[0]) if p.metadata.get("encoding") == ENCODING]
        assert sealed, f"{workflow_id}: the run's input is not encrypted"

    # The operator's decrypted view: the checkout's input carries ids, never the buyer (an id will do) …
    operator = tokens.operator()
    started = histories[runs[0]].events[0].workflow_execution_started_event_attributes
    [inp] = opened(await decode(api, operator, list(started.input.payloads)))
    checkout_input = json.loads(inp.data)
    assert checkout_input["order_id"] == order_id and checkout_input["user_id"] == "alice"
    assert leaks(inp.data) == [] and "buyer_email" not in checkout_input
    # … the static summary shows the address masked, readable without the codec …
    summary = json.loads(histories[runs[0]].events[0].user_metadata.summary.data)
    assert summary.startswith(f"Order {order_id} · a***@e***.org · ZAR"), summary
    # … and what the fulfilment run needed (the address it mailed the tickets to) opens for the operator only.
    fulfilment = [p for p in payloads_in(histories[runs[1]].events[-1]) if p.metadata.get("encoding") == ENCODING]
    assert fulfilment and leaks(b"".join(p.SerializeToString() for p in fulfilment)) == []
    clear = b"".join(p.data for p in opened(await decode(api, operator, fulfilment)))
    assert BUYER["email"].encode() in clear

    # Everyone else is refused, and learns nothing.
    for role in (Role.BUYER, Role.ORG_ADMIN, Role.SCANNER):
        refused = await decode(api, tokens.make("alice", "org1", role), fulfilment)
        assert (refused.status_code, refused.json()["code"]) == (403, "wrong_role")
        assert BUYER["email"] not in refused.text
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, forged_operator()):
        refused = await decode(api, headers, fulfilment)
        assert refused.status_code == 401, refused.text
        assert BUYER["email"] not in refused.text


def forged_operator() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {mint_token('another-secret-0123456789abcdefghijkl', user='x', org='y', role=Role.OPERATOR)}"
    }


async def test_an_operators_token_opens_nothing_of_the_business_api(
    api: httpx.AsyncClient, app: Any, tokens: Tokens
) -> None:
    event, _tt = await setup_sale(api, tokens)
    operator = tokens.operator(org="org1")
    for path in ("/v1/orders", "/v1/tickets", "/v1/events", f"/v1/events/{event['id']}", "/v1/transactions"):
        r = await api.get(path, headers=operator)
        assert (r.status_code, r.json()["code"]) == (403, "wrong_role"), (path, r.text)
    r = await api.post("/v1/holds", json={"ticket_type_id": str(uuid.uuid4()), "quantity": 1}, headers=operator)
    assert r.status_code == 403
    assert (await decode(api, operator, [])).status_code == 200
