"""Small helpers for building test data: catalogue data through the API, and payment requests for the provider
clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from boxoffice.payments.base import PaymentRequest, payment_reference


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


async def make_event(api: httpx.AsyncClient, admin: dict[str, str], **over: Any) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=10)
    body = {
        "name": "Show",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=3)),
        "currency": "ZAR",
        "venue": "Hall",
        **over,
    }
    r = await api.post("/v1/events", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


async def make_ticket_type(api: httpx.AsyncClient, admin: dict[str, str], event_id: str, **over: Any) -> dict[str, Any]:
    body = {"name": "GA", "capacity": 50, "pricing_model": "fixed", "base_price_cents": 10000, **over}
    r = await api.post(f"/v1/events/{event_id}/ticket-types", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


async def availability(api: httpx.AsyncClient, headers: dict[str, str], event_id: str) -> dict[str, dict[str, Any]]:
    r = await api.get(f"/v1/events/{event_id}/availability", headers=headers)
    assert r.status_code == 200, r.text
    return {row["ticket_type_id"]: row for row in r.json()}


def payment_request(order_id: str, amount: int, currency: str, **fields: Any) -> PaymentRequest:
    """A payment request for ``order_id`` with the buyer, description, return URLs and idempotency key the provider
    tests share; ``fields`` override them or add others."""
    values: dict[str, Any] = {
        "email": "buyer@example.com",
        "description": "2 tickets",
        "return_url": "https://boxoffice.test/return",
        "cancel_url": "https://boxoffice.test/cancel",
        "idempotency_key": f"checkout-{order_id}",
        **fields,
    }
    return PaymentRequest(
        order_id=order_id, reference=payment_reference(order_id), amount=amount, currency=currency, **values
    )
