"""What the events tests share (issue 13): orders bought through the API and the sandbox's page, a cancellation or
an edit followed to its run's end, and the messages each cause sent."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.models import SentMessage
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens

SOLD = ("paid", "fulfilled")
T = TypeVar("T")


async def buy_paid(
    api: httpx.AsyncClient, tokens: Tokens, tt_id: str, qty: int = 1, user: str = "alice", **extra: Any
) -> dict[str, Any]:
    """``qty`` tickets bought by ``user`` through the sandbox's hosted page: the order once fulfilled."""
    r = await checkout(api, tokens, [await hold(api, tokens, tt_id, qty, user=user)], user=user, **extra)
    assert r.status_code == 201, r.text
    body = r.json()
    if body["payment_url"]:
        assert (await press(api, body["payment_url"], "pay")).status_code == 303
    order = await wait_order(api, tokens.admin(), body["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    return order


async def result_of(temporal: Client, workflow_id: str, result_type: type[T], timeout: float = 60) -> T:
    """The run's result (following continue-as-new), once it has finished."""
    handle = temporal.get_workflow_handle(workflow_id, result_type=result_type)
    return await asyncio.wait_for(handle.result(), timeout)


async def until(check: Callable[[], Any], timeout: float = 30, every: float = 0.1) -> Any:
    """``await check()`` until it is truthy (its value), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


async def sent(db: Database, kind: str, order_ids: list[str] | None = None) -> dict[str, SentMessage]:
    """The messages of ``kind`` sent (sent-markers by cause), for the given orders (default: all)."""
    async with db.session() as s:
        stmt = select(SentMessage).where(col(SentMessage.kind) == kind)
        if order_ids is not None:
            stmt = stmt.where(col(SentMessage.order_id).in_([uuid.UUID(o) for o in order_ids]))
        return {m.cause: m for m in (await s.execute(stmt)).scalars()}


async def cancel(api: httpx.AsyncClient, tokens: Tokens, event_id: str, **body: Any) -> dict[str, Any]:
    r = await api.post(f"/v1/events/{event_id}/cancel", json=body, headers=tokens.admin())
    assert r.status_code == 202, r.text
    return dict(r.json())
