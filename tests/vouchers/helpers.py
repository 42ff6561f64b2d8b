"""Vouchers through the API, as an organiser and a buyer use them, and the rows behind them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from boxoffice.db import Database
from boxoffice.models import TicketType, Voucher
from tests.harness import Tokens


async def make_voucher(
    api: httpx.AsyncClient, tokens: Tokens, event_id: str, *, org: str = "org1", **fields: Any
) -> dict[str, Any]:
    """A voucher of the event (a 10 % voucher for one use unless ``fields`` say otherwise)."""
    body = {**({} if "kind" in fields else {"kind": "percentage", "percent_off": 10}), **fields}
    r = await api.post(f"/v1/events/{event_id}/vouchers", json=body, headers=tokens.admin(org=org))
    assert r.status_code == 201, r.text
    voucher: dict[str, Any] = r.json()
    return voucher


async def hold_with(
    api: httpx.AsyncClient, tokens: Tokens, tt_id: str, code: str | None, qty: int = 1, user: str = "alice"
) -> httpx.Response:
    body: dict[str, Any] = {"ticket_type_id": tt_id, "quantity": qty}
    if code is not None:
        body["voucher"] = code
    return await api.post("/v1/holds", json=body, headers=tokens.buyer(user))


async def voucher_row(db: Database, voucher_id: str) -> Voucher:
    async with db.session() as s:
        return (await s.execute(select(Voucher).where(col(Voucher.id) == uuid.UUID(voucher_id)))).scalar_one()


async def seats(db: Database, tt_id: str) -> tuple[int, int, int, int]:
    """(capacity, held, sold, reserved) of the ticket type as stored."""
    async with db.session() as s:
        tt = (await s.execute(select(TicketType).where(col(TicketType.id) == uuid.UUID(tt_id)))).scalar_one()
        return tt.capacity, tt.held, tt.sold, tt.reserved
