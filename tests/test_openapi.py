"""Typed edges: what ``/openapi.json`` declares, and inputs that once answered 500 or that the schema misdescribed.

The schemathesis run over every operation is in ``test_openapi_fuzz.py``; these are the findings it and the audit
made, pinned one by one, and the document's declarations checked operation by operation.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type

PROBLEM = "application/problem+json"
PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
INT64_OVERFLOW = 9_223_372_036_854_775_808
# The webhook's body is the provider's event, verified over its raw bytes: deliberately not a typed model.
RAW_BODIES = {("post", "/v1/webhooks/{provider}")}
# Readiness answers 503 with its own body (which check failed), as orchestrators expect.
NOT_PROBLEMS = {("get", "/readyz", "503")}


async def test_every_operation_declares_its_answers(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    operations = [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 25
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        answers = op["responses"]
        for status, answer in answers.items():
            if int(status) >= 400 and (method, path, status) not in NOT_PROBLEMS:
                assert answer["content"] == PROBLEM_CONTENT, (where, status)
            elif "application/json" in answer.get("content", {}):
                assert answer["content"]["application/json"].get("schema"), (where, status)  # a response_model
        if op.get("security"):
            assert "401" in answers, where
        if op.get("parameters") or "requestBody" in op:
            assert "422" in answers, where
        if "requestBody" in op:
            assert "400" in answers, where  # FastAPI's answer to a body that is not UTF-8
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in body or (method, path) in RAW_BODIES, (where, body)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/events", "GET, POST"),
        ("DELETE", "/v1/events", "GET, POST"),
        ("PUT", f"/v1/holds/{uuid.uuid4()}", "DELETE, GET"),
        ("GET", "/v1/checkouts", "POST"),
        ("OPTIONS", f"/v1/orders/{uuid.uuid4()}/refunds", "GET, POST"),
        ("HEAD", "/healthz", "GET"),
    ],
)
async def test_405_names_every_method_of_the_resource(
    api: httpx.AsyncClient, tokens: Tokens, method: str, path: str, allow: str
) -> None:
    r = await api.request(method, path, headers=tokens.admin())
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    assert r.headers["allow"] == allow
    if method != "HEAD":  # a HEAD answer has no body
        assert r.json()["code"] == "method_not_allowed"


async def test_an_undecodable_body_is_a_declared_400(api: httpx.AsyncClient, tokens: Tokens) -> None:
    headers = {**tokens.admin(), "Content-Type": "application/json"}
    r = await api.post("/v1/events", content=b'{"name": "\xff"}', headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "malformed_body")
    assert r.headers["content-type"] == PROBLEM


async def refused(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "validation_error", r.text


@pytest.mark.parametrize(
    "change",
    [
        {"service_fee_fixed_cents": 3_000_000_000},
        {"name": "Gala\x00"},
        {"venue": "Hall\x00"},
        {"timezone": "UTC\x00"},
    ],
)
async def test_event_values_beyond_the_columns_are_refused(
    api: httpx.AsyncClient, tokens: Tokens, change: dict[str, Any]
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    body = {k: event[k] for k in ("name", "starts_at", "ends_at", "currency")}
    await refused(await api.post("/v1/events", json={**body, **change}, headers=admin))
    assert [e["id"] for e in (await api.get("/v1/events", headers=admin)).json()] == [event["id"]]


@pytest.mark.parametrize(
    "change",
    [
        {"max_per_order": 3_000_000_000},
        {"capacity": 3_000_000_000},
        {"base_price_cents": 3_000_000_000},
        {"name": "\x00"},
    ],
)
async def test_ticket_type_values_beyond_the_columns_are_refused(
    api: httpx.AsyncClient, tokens: Tokens, change: dict[str, Any]
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    body = {"name": "GA", "capacity": 10, "pricing_model": "fixed", "base_price_cents": 1000, **change}
    await refused(await api.post(f"/v1/events/{event['id']}/ticket-types", json=body, headers=admin))
    assert (await api.get(f"/v1/events/{event['id']}/ticket-types", headers=admin)).json() == []


@pytest.mark.parametrize(
    "change",
    [
        {"capacity": None},
        {"name": None},
        {"base_price_cents": None},
        {"max_per_order": 3_000_000_000},
        {"capacity": -1},
        {"name": "\x00"},
    ],
)
async def test_patch_refuses_null_for_what_cannot_be_cleared(
    api: httpx.AsyncClient, tokens: Tokens, change: dict[str, Any]
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, max_per_order=4)
    await refused(await api.patch(f"/v1/ticket-types/{tt['id']}", json=change, headers=admin))
    assert (await api.get(f"/v1/events/{event['id']}/ticket-types", headers=admin)).json() == [tt]
    cleared = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"max_per_order": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["max_per_order"] is None  # null still clears these


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/tickets", {"offset": INT64_OVERFLOW}),
        ("/v1/orders", {"offset": INT64_OVERFLOW}),
        ("/v1/ledger", {"offset": INT64_OVERFLOW}),
        ("/v1/transactions", {"offset": INT64_OVERFLOW}),
        ("/v1/tickets", {"offset": 2_147_483_648}),
        ("/v1/orders", {"status": "paid\x00"}),
        ("/v1/transactions", {"status": "\x00"}),
        ("/v1/transactions", {"provider": "sandbox\x00"}),
    ],
)
async def test_list_parameters_beyond_the_database_are_refused(
    api: httpx.AsyncClient, tokens: Tokens, path: str, query: dict[str, Any]
) -> None:
    await refused(await api.get(path, params=query, headers=tokens.admin()))
    ok = await api.get(path, params={"offset": 2_147_483_647}, headers=tokens.admin())
    assert ok.status_code == 200, ok.text


async def test_nul_in_buyer_strings_and_headers_is_refused(api: httpx.AsyncClient, tokens: Tokens) -> None:
    body = {"hold_ids": [str(uuid.uuid4())], "provider": "sandbox", "buyer": {"email": "a@b.co", "name": "A\x00"}}
    await refused(await api.post("/v1/checkouts", json=body, headers=tokens.buyer()))
    body["buyer"] = {"email": "a\x00@b.co", "name": "A"}
    await refused(await api.post("/v1/checkouts", json=body, headers=tokens.buyer()))
    body["buyer"] = {"email": "a@b.co", "name": "A"}
    await refused(await api.post("/v1/checkouts", json=body, headers={**tokens.buyer(), "Idempotency-Key": "k\x00"}))
    refund = {"reason": "\x00"}
    await refused(await api.post(f"/v1/orders/{uuid.uuid4()}/refunds", json=refund, headers=tokens.admin()))
    await refused(await api.get("/sandbox/api/payments/ref%00"))  # the sandbox provider's own API


def valid(doc: dict[str, Any], component: str, body: dict[str, Any]) -> bool:
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"pricing_model": "fixed", "base_price_cents": -100}, 422, "negative_price"),
        ({"pricing_model": "fixed", "base_price_cents": 0}, 422, "price_required"),
        ({"pricing_model": "fixed"}, 422, "price_required"),
        ({"pricing_model": "free", "base_price_cents": 500}, 422, "free_with_price"),
        ({"pricing_model": "pay_what_you_want", "minimum_price_cents": -1}, 422, "negative_price"),
        ({"pricing_model": "fixed", "base_price_cents": 100, "suggested_price_cents": 50}, 422, "pwyw_fields_on_fixed"),
        ({"pricing_model": "fixed", "base_price_cents": 100, "max_per_order": 0}, 422, "invalid_max_per_order"),
        ({"pricing_model": "free", "name": "\u0085\u3000"}, 422, "validation_error"),  # blank once stripped
        ({"pricing_model": "free", "name": "  VIP  "}, 201, None),
        ({"pricing_model": "free", "name": "\ufeffVIP"}, 201, None),  # U+FEFF is not White_Space
        ({"pricing_model": "fixed", "base_price_cents": 1}, 201, None),
        ({"pricing_model": "pay_what_you_want", "minimum_price_cents": 0, "suggested_price_cents": 0}, 201, None),
    ],
)
async def test_the_schema_states_what_ticket_type_validation_accepts(
    api: httpx.AsyncClient, tokens: Tokens, change: dict[str, Any], status: int, code: str | None
) -> None:
    """The document refuses exactly the bodies that field validation refuses (each rule keeps its code)."""
    admin = tokens.admin()
    doc = (await api.get("/openapi.json")).json()
    event = await make_event(api, admin)
    body = {"name": "T", "capacity": 10, **change}
    r = await api.post(f"/v1/events/{event['id']}/ticket-types", json=body, headers=admin)
    assert (r.status_code, r.json().get("code")) == (status, code), r.text
    assert valid(doc, "TicketTypeIn", body) is (status == 201)


@pytest.mark.parametrize(
    ("email", "accepted"),
    [
        ("ada@example.com", True),
        ("ada lovelace@example.com", False),
        ("ada\u0085@example.com", False),  # NEL: white space to pydantic's regex engine, not to ECMA-262's \s
        ("ada\u00a0@example.com", False),
        ("  ada@example.com\n", True),  # stripped first
        ("ada@exa\x00mple.com", False),
        ("ada@example", False),
        # Every accepted address can be written into a mail header: no specials, no non-ASCII local part.
        ("o'neil+tickets@example.co.za", True),
        ("ada@exa,mple.com", False),
        ("ada..l@example.com", False),
        ('"ada"@example.com', False),
        ("adé@example.com", False),
    ],
)
async def test_the_schema_states_what_email_validation_accepts(
    api: httpx.AsyncClient, tokens: Tokens, email: str, accepted: bool
) -> None:
    doc = (await api.get("/openapi.json")).json()
    buyer = {"email": email, "name": "Ada"}
    body = {"hold_ids": [str(uuid.uuid4())], "provider": "sandbox", "buyer": buyer}
    r = await api.post("/v1/checkouts", json=body, headers=tokens.buyer())
    # Accepted by validation, the request goes on to find no such hold.
    assert (r.status_code, r.json()["code"]) == ((404, "hold_not_found") if accepted else (422, "validation_error"))
    assert valid(doc, "BuyerIn", buyer) is accepted
