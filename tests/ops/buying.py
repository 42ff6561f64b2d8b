"""A buyer's, an organiser's and a door's requests against API processes over HTTP, for one organisation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type

TOKENS = Tokens()


async def sale(api: httpx.AsyncClient, org: str, capacity: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event of ``org`` on sale, with one fixed-price ticket type; (event, ticket type)."""
    admin = TOKENS.admin(org=org)
    event = await make_event(api, admin)
    return event, await make_ticket_type(api, admin, event["id"], capacity=capacity, base_price_cents=5000)


async def hold_and_checkout(api: httpx.AsyncClient, org: str, tt_id: str, user: str, qty: int) -> dict[str, Any]:
    """A hold and a checkout through the sandbox; the checkout's 201 body."""
    buyer = TOKENS.buyer(user, org)
    r = await api.post("/v1/holds", json={"ticket_type_id": tt_id, "quantity": qty}, headers=buyer)
    assert r.status_code == 201, r.text
    body = {
        "hold_ids": [r.json()["id"]],
        "provider": "sandbox",
        "buyer": {"email": f"{user}@example.com", "name": user},
    }
    r = await api.post("/v1/checkouts", json=body, headers=buyer)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def press(api: httpx.AsyncClient, payment_url: str, action: str) -> None:
    """Pay or Decline on the sandbox's hosted page, served by whichever API ``api`` is."""
    path = httpx.URL(payment_url).raw_path.decode()
    r = await api.post(path, data={"action": action, "webhook": "normal"})
    assert r.status_code == 303, r.text


async def order(api: httpx.AsyncClient, org: str, order_id: str) -> dict[str, Any]:
    r = await api.get(f"/v1/orders/{order_id}", headers=TOKENS.admin(org=org))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_for(
    read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str, pause: float = 0.2
) -> Any:
    """Poll ``read()`` (a coroutine function) until ``done`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: still {value}"
        await asyncio.sleep(pause)
