"""401 without a valid token, 403 for the wrong role, 404 (never data) across users and organisations."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.harness import JWT_SECRET, Tokens
from tests.helpers import make_event, make_ticket_type


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "a", "org": "o", "role": "buyer", "exp": 9999999999},
                "another-secret-that-is-long-enough-0123",
                algorithm="HS256",
            )
        },
        {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "a", "org": "o", "role": "buyer", "exp": int(time.time()) - 10}, JWT_SECRET, algorithm="HS256"
            )
        },
        {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "a", "org": "o", "role": "emperor", "exp": 9999999999}, JWT_SECRET, algorithm="HS256")
        },
        {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "a", "org": "o", "role": "buyer", "exp": 9999999999}, "", algorithm="none")
        },
    ],
    ids=["missing", "garbage", "basic", "wrong-secret", "expired", "bad-role", "alg-none"],
)
async def test_401_for_missing_or_invalid_token(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await api.get("/v1/events", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] in {"missing_token", "invalid_token"}


async def test_wrong_role_is_403(api: httpx.AsyncClient, tokens: Tokens) -> None:
    r = await api.post("/v1/events", json={}, headers=tokens.buyer())
    assert r.status_code == 403 and r.json()["code"] == "wrong_role"
    event = await make_event(api, tokens.admin())
    tt = await make_ticket_type(api, tokens.admin(), event["id"])
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 1}, headers=tokens.admin())
    assert r.status_code == 403


async def test_other_organisation_sees_404_never_data(api: httpx.AsyncClient, tokens: Tokens) -> None:
    event = await make_event(api, tokens.admin(org="org1"))
    tt = await make_ticket_type(api, tokens.admin(org="org1"), event["id"])
    other_admin, other_buyer = tokens.admin(org="org2"), tokens.buyer(org="org2")

    for path in (
        f"/v1/events/{event['id']}",
        f"/v1/events/{event['id']}/availability",
        f"/v1/events/{event['id']}/ticket-types",
    ):
        r = await api.get(path, headers=other_admin)
        assert r.status_code == 404, path
        assert event["name"] not in r.text
    assert (await api.get("/v1/events", headers=other_admin)).json() == []
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 1}, headers=other_buyer)
    assert r.status_code == 404 and r.json()["code"] == "ticket_type_not_found"
    r = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"capacity": 1}, headers=other_admin)
    assert r.status_code == 404
    r = await api.post(
        f"/v1/events/{event['id']}/ticket-types",
        json={"name": "x", "capacity": 1, "pricing_model": "free"},
        headers=other_admin,
    )
    assert r.status_code == 404


async def test_another_buyers_hold_is_404(api: httpx.AsyncClient, tokens: Tokens) -> None:
    event = await make_event(api, tokens.admin())
    tt = await make_ticket_type(api, tokens.admin(), event["id"])
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 2}, headers=tokens.buyer("alice"))
    hold_id = r.json()["id"]
    for headers in (tokens.buyer("bob"), tokens.buyer("alice", org="org2")):
        assert (await api.get(f"/v1/holds/{hold_id}", headers=headers)).status_code == 404
        r = await api.delete(f"/v1/holds/{hold_id}", headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "hold_not_found"
    # Bob's failed release changed nothing.
    r = await api.get(f"/v1/holds/{hold_id}", headers=tokens.buyer("alice"))
    assert r.status_code == 200 and r.json()["status"] == "active"
