"""What a checkout request may and may not ask: idempotency keys per buyer, refused requests that change nothing,
and the sandbox provider refused in production."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Hold
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, setup_sale
from tests.harness import Tokens
from tests.helpers import availability


async def test_idempotency_key(api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any) -> None:
    _event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 2)
    first = await checkout(api, tokens, [h], key="k-1")
    again = await checkout(api, tokens, [h], key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await checkout(api, tokens, [h], key="k-1", tip_cents=100)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    orders = (await api.get("/v1/orders", headers=tokens.buyer())).json()
    assert [o["id"] for o in orders] == [first.json()["order_id"]]
    # The same key from another buyer is another checkout (keys are per buyer).
    h2 = await hold(api, tokens, tt["id"], 1, user="bob")
    assert (await checkout(api, tokens, [h2], user="bob", key="k-1")).json()["order_id"] != first.json()["order_id"]
    await assert_books_balanced(db)


async def test_bad_checkouts_are_refused_and_change_nothing(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 2)
    stale = await hold(api, tokens, tt["id"], 1)
    async with db.transaction() as s:  # as if the sweeper had not run yet
        await s.execute(
            update(Hold).where(col(Hold.id) == uuid.UUID(stale)).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    cases: list[tuple[list[str], dict[str, Any], int, str]] = [
        ([str(uuid.uuid4())], {}, 404, "hold_not_found"),
        ([stale], {}, 409, "hold_expired"),
        ([h], {"provider": "bitcoin"}, 422, "validation_error"),
        ([h], {"buyer": {"email": "nope", "name": "x"}}, 422, "validation_error"),
        ([h], {"unit_prices_cents": {h: 5}}, 422, "price_not_adjustable"),
        ([], {}, 422, "validation_error"),
    ]
    for ids, extra, status, code in cases:
        r = await checkout(api, tokens, ids, **extra)
        assert r.status_code == status and r.json()["code"] == code, (ids, extra, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = await checkout(api, tokens, [h], user="mallory")
    assert r.status_code == 404 and r.json()["code"] == "hold_not_found"
    r = await api.post(
        "/v1/checkouts",
        json={"hold_ids": [h], "provider": "sandbox", "buyer": {"email": "a@b.co", "name": "A"}},
        headers=tokens.admin(),
    )
    assert r.status_code == 403
    assert (await api.get("/v1/orders", headers=tokens.admin())).json() == []
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["order_id"] is None
    assert (await availability(api, tokens.admin(), event["id"]))[tt["id"]]["held"] == 3
    await assert_books_balanced(db)


async def test_sandbox_is_off_in_production(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    """Pretend money must never buy real tickets: in production the sandbox is refused unless enabled."""
    _event, tt = await setup_sale(api, tokens)
    h = await hold(api, tokens, tt["id"], 1)
    settings.env = "production"
    r = await checkout(api, tokens, [h])
    assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
    assert "BOXOFFICE_SANDBOX_ENABLED" in r.json()["detail"]
    assert (await api.get("/sandbox/pay/bo-anything")).status_code == 404
    assert (await api.get("/v1/orders", headers=tokens.buyer())).json() == []
    assert (await api.get(f"/v1/holds/{h}", headers=tokens.buyer())).json()["order_id"] is None
    settings.sandbox_enabled = True  # an operator may turn it on deliberately (a staging stack)
    assert (await checkout(api, tokens, [h])).status_code == 201
