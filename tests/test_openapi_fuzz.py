"""Schema fuzzing: schemathesis against ``/openapi.json`` with buyer, org_admin and scanner tokens.

Every operation in the document is fuzzed for each role with positive (schema-valid) and negative (schema-invalid)
data; for the buyer and the organiser, schemathesis's coverage phase runs first (boundary values, nulls, missing
members and undeclared methods, each sent once). It runs over seeded data so that success paths are reached, not
only 404s: an event with a fixed, a pay-what-you-want and a free ticket type, active holds, a pending order, and a
fulfilled order with its tickets. A positive case is pointed at seeded ids half of the time (path parameters,
``ticket_type_id``, ``hold_ids``, ``ticket_ids``), and ids that fuzzed requests create (events, ticket types, holds,
orders) join those pools. The Temporal worker runs and every provider is configured against its local fake, so
``POST /v1/checkouts``, ``POST /v1/orders/{id}/cancel`` and ``POST /v1/orders/{id}/refunds`` reach their success
paths (``MUST_SUCCEED``). ``POST /v1/webhooks/{provider}`` is covered by its failure paths only (a fuzzed body
carries no valid signature). Negative cases include requests without ``Authorization`` (schemathesis drops it).

Checks on every response (``tests/test_openapi_engine.py``): ``not_a_server_error`` (any 5xx fails),
``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``,
``response_headers_conformance``, ``unsupported_method`` and ``allow_header_conformance`` (405 with a true
``Allow``), ``missing_required_header``, and ``schema_states_validation``: a schema-valid request is never refused
by request validation nor by a field rule the schema declares, i.e. the document says what validation accepts.
Rules the schema cannot state (cross-field and stored-state rules such as ``minimum_above_suggested``,
``invalid_currency``, ``sales_window_inverted``, ``price_below_minimum``) may still refuse schema-valid data.

Excluded operations: none. One is narrowed: ``GET /v1/orders/{order_id}/events`` streams until its order settles
(up to 30 minutes), so its seeded ids are settled orders only; generated ids still reach it (404).
Generation is deterministic (``derandomize``, no example database), bounded by ``MAX_EXAMPLES`` per operation,
mode and role; the coverage phase is finite. About 5,000 requests in all (more as operations are added).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode

from boxoffice.config import Settings
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.e2e_stack import provider_settings
from tests.fakes import FakeProvider, PaystackFake, StripeFake, YocoFake, running
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type
from tests.test_openapi_engine import REQUEST_SECONDS, Fuzzer, Pools

MAX_EXAMPLES = {GenerationMode.POSITIVE: 16, GenerationMode.NEGATIVE: 6}
MIN_REQUESTS_PER_ROLE = 340  # three roles: at least 1,020 requests in all
# The coverage phase (about 1,000 requests a role) for the roles that write; a scanner mostly meets 403.
COVERAGE_ROLES = {"buyer", "admin"}
REQUEST_COUNTS: dict[str, int] = {}
# Success paths each role's run must reach: a guard against seeding that only ever meets 404s.
MUST_SUCCEED = {
    "buyer": {
        "POST /v1/holds",
        "DELETE /v1/holds/{hold_id}",
        "POST /v1/checkouts",
        "GET /v1/orders/{order_id}",
        "POST /v1/orders/{order_id}/cancel",
        "GET /v1/orders/{order_id}/tickets.pdf",
        "GET /v1/tickets/{ticket_id}/qr.svg",
    },
    "admin": {
        "POST /v1/events",
        "POST /v1/events/{event_id}/ticket-types",
        "PATCH /v1/ticket-types/{ticket_type_id}",
        "POST /v1/orders/{order_id}/refunds",
        "GET /v1/orders/{order_id}/refunds",
        "GET /v1/ledger",
        "GET /v1/transactions",
    },
    "scanner": {"GET /v1/events/{event_id}/availability", "GET /v1/events/{event_id}/ticket-types"},
}


@pytest.fixture(scope="module")
def provider_fakes() -> Iterator[list[FakeProvider]]:
    with running(PaystackFake()) as paystack, running(YocoFake()) as yoco, running(StripeFake()) as stripe:
        yield [paystack, yoco, stripe]


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, task_queue: str, provider_fakes: list[Any]) -> Settings:
    """Every provider configured against its fake, so no request meets ``provider_unavailable`` (503)."""
    configured: dict[str, Any] = {}
    for fake in provider_fakes:
        configured |= provider_settings(fake.name, fake)
    return settings_for(tmp_path, pg_url, task_queue, **configured)


async def seed(api: httpx.AsyncClient, tokens: Tokens) -> Pools:
    """A sale in progress: three ticket types, active holds, a pending order and a fulfilled one with tickets."""
    admin, buyer = tokens.admin(), tokens.buyer()
    event = await make_event(api, admin)
    fixed = await make_ticket_type(api, admin, event["id"], capacity=100, max_per_order=10)
    pwyw = await make_ticket_type(
        api, admin, event["id"], name="PWYW", pricing_model="pay_what_you_want", base_price_cents=0,
        minimum_price_cents=500, suggested_price_cents=2000, capacity=100,
    )  # fmt: skip
    free = await make_ticket_type(api, admin, event["id"], name="Free", pricing_model="free", base_price_cents=0)
    paid = (await checkout(api, tokens, [await hold(api, tokens, fixed["id"])])).json()
    await press(api, paid["payment_url"])
    fulfilled = await wait_order(api, buyer, paid["order_id"], lambda o: o["status"] == "fulfilled")
    assert fulfilled["status"] == "fulfilled", fulfilled
    pending = (await checkout(api, tokens, [await hold(api, tokens, pwyw["id"], qty=1)])).json()
    assert pending["status"] == "pending", pending
    pools = Pools(settled_orders=[paid["order_id"]], spare_hold=await hold(api, tokens, pwyw["id"], qty=1))
    pools.add("events", event["id"])
    for tt in (fixed, pwyw, free):
        pools.add("ticket_types", tt["id"])
    pools.add("holds", await hold(api, tokens, free["id"], qty=1))
    for order_id in (paid["order_id"], pending["order_id"]):
        pools.add("orders", order_id)
    for ticket in fulfilled["tickets"]:
        pools.add("tickets", ticket["id"])
    for provider in ("sandbox", "paystack", "yoco", "stripe"):
        pools.add("providers", provider)
    # Issue 13: a voucher reserving seats of the fixed type, for the voucher routes' success paths.
    terms = {"kind": "percentage", "percent_off": 20, "max_uses": 5, "reserve_seats": True}
    voucher = await api.post(
        f"/v1/events/{event['id']}/vouchers", json={**terms, "ticket_type_id": fixed["id"]}, headers=admin
    )
    assert voucher.status_code == 201, voucher.text
    pools.add("vouchers", voucher.json()["id"])
    return pools


# Hypothesis notes any change of the global ``random`` state during a draw; here the app, the worker and their
# clients run on the event loop's thread alongside the drawing thread, and their retries' jitter changes it.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@pytest.mark.parametrize("role", ["buyer", "admin", "scanner"])
async def test_schemathesis_finds_no_server_error_or_schema_mismatch(
    app: Any, tokens: Tokens, worker: Any, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A server error must come back as the 500 a client would see, not as the app's exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=REQUEST_SECONDS) as api:
        pools = await seed(api, tokens)
        schema = schemathesis.openapi.from_dict((await api.get("/openapi.json")).json())
        loop, headers = asyncio.get_running_loop(), getattr(tokens, role)()
        fuzzer = Fuzzer(schema, api, loop, headers, pools, MAX_EXAMPLES, coverage=role in COVERAGE_ROLES)
        started = time.monotonic()
        await asyncio.to_thread(fuzzer.run_all)
        elapsed = time.monotonic() - started
    REQUEST_COUNTS[role] = fuzzer.requests
    with capsys.disabled():
        print(
            f"\nschemathesis as {role}: {fuzzer.requests} requests in {elapsed:.1f} s, 2xx on "
            f"{len(fuzzer.succeeded)} operations; {sum(REQUEST_COUNTS.values())} requests so far "
            f"({', '.join(f'{r} {n}' for r, n in REQUEST_COUNTS.items())})"
        )
    report = "\n\n".join(f"{label}: {title}\n{detail}" for (label, title), detail in fuzzer.failures.items())
    assert not fuzzer.failures, f"{len(fuzzer.failures)} distinct failures:\n\n{report}"
    assert fuzzer.requests >= MIN_REQUESTS_PER_ROLE
    assert MUST_SUCCEED[role] <= fuzzer.succeeded, MUST_SUCCEED[role] - fuzzer.succeeded
