"""What the gate tests share: tickets bought through the API (free, so no payment step), scans, a settable clock for
the gate, and bundles fetched as a gate gets them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.checkout_helpers import wait_order
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


@dataclass
class Clock:
    """The gate's clock (``app.state.gate_clock``): now, unless set."""

    at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or datetime.now(UTC)


@dataclass
class Sale:
    """An event, one of its ticket types, and a buyer's order of tickets (each with its payload and code)."""

    event: dict[str, Any]
    ticket_type: dict[str, Any]
    order: dict[str, Any]
    tickets: list[dict[str, Any]] = field(default_factory=list)


async def tickets_of(api: httpx.AsyncClient, headers: dict[str, str], order: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for t in order["tickets"]:
        r = await api.get(f"/v1/tickets/{t['id']}", headers=headers)
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


async def buy(
    api: httpx.AsyncClient,
    tokens: Tokens,
    event: dict[str, Any] | None = None,
    *,
    qty: int = 1,
    user: str = "alice",
    org: str = "org1",
    **ticket_type: Any,
) -> Sale:
    """``qty`` free tickets of a new ticket type (of ``event``, or of a new event) bought by ``user``; needs the
    ``worker`` fixture (the checkout issues them)."""
    admin = tokens.admin(org=org)
    event = event or await make_event(api, admin)
    tt = await make_ticket_type(
        api, admin, event["id"], **{"capacity": 20, "pricing_model": "free", "base_price_cents": 0, **ticket_type}
    )
    r = await api.post(
        "/v1/holds", json={"ticket_type_id": tt["id"], "quantity": qty}, headers=tokens.buyer(user, org=org)
    )
    assert r.status_code == 201, r.text
    body = {
        "hold_ids": [r.json()["id"]],
        "provider": "sandbox",
        "buyer": {"email": f"{user}@example.com", "name": user.title()},
    }
    created = await api.post("/v1/checkouts", json=body, headers=tokens.buyer(user, org=org))
    assert created.status_code == 201, created.text
    order = await wait_order(api, admin, created.json()["order_id"], lambda o: o["status"] in ("paid", "fulfilled"))
    assert order["status"] in ("paid", "fulfilled"), order
    return Sale(event, tt, order, await tickets_of(api, admin, order))


async def scan(
    api: httpx.AsyncClient, headers: dict[str, str], event_id: str, gate: str = "north-1", **body: Any
) -> dict[str, Any]:
    """``POST /v1/scans``: the answer's body (it must be a 200)."""
    r = await api.post("/v1/scans", json={"event_id": event_id, "gate_id": gate, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def bundle(api: httpx.AsyncClient, headers: dict[str, str], event_id: str) -> dict[str, Any]:
    r = await api.get(f"/v1/events/{event_id}/gate-bundle", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())
