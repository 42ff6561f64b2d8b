"""Each catalogue validation rule is refused with a stable problem+json code and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.harness import Tokens
from tests.helpers import iso, make_event, make_ticket_type


async def test_event_rules(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin()
    start = datetime.now(UTC) + timedelta(days=3)
    base = {"name": "E", "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=2)), "currency": "ZAR"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ends_at": iso(start - timedelta(hours=1))}, "event_ends_before_start"),
        ({"currency": "XYZ"}, "invalid_currency"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"starts_at": "2027-01-01T19:00:00"}, "validation_error"),  # no offset
        ({"surprise": 1}, "validation_error"),
    ]
    for change, code in cases:
        r = await api.post("/v1/events", json={**base, **change}, headers=admin)
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["code"] == code and body["status"] == 422 and body["title"] and body["detail"]
    assert (await api.get("/v1/events", headers=admin)).json() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"pricing_model": "pay_what_you_want", "minimum_price_cents": 5000, "suggested_price_cents": 3000},
            "minimum_above_suggested",
        ),
        ({"pricing_model": "fixed", "base_price_cents": -100}, "negative_price"),
        ({"pricing_model": "pay_what_you_want", "minimum_price_cents": -1}, "negative_price"),
        ({"pricing_model": "fixed", "base_price_cents": 0}, "price_required"),
        ({"pricing_model": "free", "base_price_cents": 500}, "free_with_price"),
        ({"pricing_model": "fixed", "base_price_cents": 100, "minimum_price_cents": 50}, "pwyw_fields_on_fixed"),
        ({"pricing_model": "fixed", "base_price_cents": 100, "max_per_order": 0}, "invalid_max_per_order"),
        ({"pricing_model": "donation"}, "validation_error"),
        ({"pricing_model": "fixed", "base_price_cents": 100, "capacity": -1}, "validation_error"),
    ],
)
async def test_ticket_type_rules(api: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], code: str) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    r = await api.post(
        f"/v1/events/{event['id']}/ticket-types", json={"name": "T", "capacity": 10, **body}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert (await api.get(f"/v1/events/{event['id']}/ticket-types", headers=admin)).json() == []


async def test_sales_window_after_event_is_refused(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    after = datetime.fromisoformat(event["ends_at"]) + timedelta(hours=1)
    for window in ({"sales_start": iso(after)}, {"sales_end": iso(after)}):
        r = await api.post(
            f"/v1/events/{event['id']}/ticket-types",
            json={"name": "T", "capacity": 10, "pricing_model": "free", **window},
            headers=admin,
        )
        assert r.status_code == 422 and r.json()["code"] == "sales_window_after_event", r.text
    now = datetime.now(UTC)
    r = await api.post(
        f"/v1/events/{event['id']}/ticket-types",
        json={
            "name": "T",
            "capacity": 10,
            "pricing_model": "free",
            "sales_start": iso(now + timedelta(days=2)),
            "sales_end": iso(now + timedelta(days=1)),
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "sales_window_inverted"


async def test_capacity_cannot_drop_below_sold_or_held(api: httpx.AsyncClient, tokens: Tokens, db: Any) -> None:
    from sqlalchemy import update

    from boxoffice.models import TicketType

    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10)
    async with db.transaction() as s:  # as if 6 had been sold by checkouts
        await s.execute(update(TicketType).where(TicketType.id == __import__("uuid").UUID(tt["id"])).values(sold=6))
    r = await api.post("/v1/holds", json={"ticket_type_id": tt["id"], "quantity": 2}, headers=tokens.buyer())
    assert r.status_code == 201
    r = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"capacity": 5}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "capacity_below_sold"
    r = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"capacity": 7}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "capacity_below_sold"  # 6 sold + 2 held
    r = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"capacity": 8}, headers=admin)
    assert r.status_code == 200 and r.json()["available"] == 0
    r = await api.patch(f"/v1/ticket-types/{tt['id']}", json={"base_price_cents": -5}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "negative_price"
    assert (await api.get(f"/v1/events/{event['id']}/ticket-types", headers=admin)).json()[0][
        "base_price_cents"
    ] == 10000


async def test_unknown_route_and_method_are_problems(api: httpx.AsyncClient, tokens: Tokens) -> None:
    r = await api.get("/v1/nope", headers=tokens.buyer())
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await api.put("/v1/events", headers=tokens.buyer())
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
