"""Driving checkouts through the API and the sandbox's hosted page, as a buyer would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


async def setup_sale(api: httpx.AsyncClient, tokens: Tokens, **tt: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    admin = tokens.admin()
    event = await make_event(api, admin)
    ticket_type = await make_ticket_type(api, admin, event["id"], **{"capacity": 10, **tt})
    return event, ticket_type


async def hold(api: httpx.AsyncClient, tokens: Tokens, tt_id: str, qty: int = 2, user: str = "alice") -> str:
    r = await api.post("/v1/holds", json={"ticket_type_id": tt_id, "quantity": qty}, headers=tokens.buyer(user))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def checkout(
    api: httpx.AsyncClient,
    tokens: Tokens,
    hold_ids: list[str],
    user: str = "alice",
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {
        "hold_ids": hold_ids,
        "provider": "sandbox",
        "buyer": {"email": f"{user}@example.com", "name": user.title()},
        **extra,
    }
    headers = {**tokens.buyer(user), **({"Idempotency-Key": key} if key else {})}
    return await api.post("/v1/checkouts", json=body, headers=headers)


async def press(
    api: httpx.AsyncClient, payment_url: str, action: str = "pay", webhook: str = "normal"
) -> httpx.Response:
    """Press Pay or Decline on the sandbox's hosted page (a plain HTML form post)."""
    path = httpx.URL(payment_url).raw_path.decode()
    page = await api.get(path)
    assert page.status_code == 200 and 'value="pay"' in page.text
    return await api.post(path, data={"action": action, "webhook": webhook})


async def wait_order(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    order_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 30,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = await api.get(f"/v1/orders/{order_id}", headers=headers)
        assert r.status_code == 200, r.text
        order = r.json()
        if done(order) or time.monotonic() > deadline:
            return order
        await asyncio.sleep(0.1)


def settled(order: dict[str, Any]) -> bool:
    return order["status"] in ("paid", "fulfilled", "cancelled", "refunded")
