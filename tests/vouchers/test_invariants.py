"""The books' invariant checker (``boxoffice check``) knows vouchers: redemptions equal the live holds and sold seats
that used them and never exceed the maximum, and reserved seats are what reserving vouchers keep. A clean sale
passes; each tampering is reported with the voucher's or ticket type's id."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from boxoffice.books.invariants import check_command
from boxoffice.db import Database
from boxoffice.models import TicketType, Voucher
from tests.books import findings
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type
from tests.vouchers.helpers import hold_with, make_voucher


async def rules_broken(db: Database) -> set[str]:
    return {v.rule for v in (await findings(db, "org1", settled=True)).violations}


@pytest.mark.parametrize(
    ("table", "values", "rule"),
    [
        (Voucher, {"uses": 1}, "voucher_uses_mismatch"),  # a use with no hold behind it
        (Voucher, {"uses": 3, "reserved": 0}, "voucher_uses_mismatch"),
        (Voucher, {"reserved": 0}, "voucher_reservation_mismatch"),  # it keeps 1 seat
        (TicketType, {"reserved": 4}, "reserved_mismatch"),
    ],
)
async def test_tampering_is_reported(
    api: httpx.AsyncClient,
    tokens: Tokens,
    db: Database,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
    table: Any,
    values: dict[str, int],
    rule: str,
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10)
    v = await make_voucher(
        api, tokens, event["id"], code="KEEP", max_uses=3, reserve_seats=True, ticket_type_id=tt["id"]
    )
    assert (await hold_with(api, tokens, tt["id"], "KEEP", qty=2)).status_code == 201
    assert await rules_broken(db) == set()
    assert await check_command(pg_url, event_id=uuid.UUID(event["id"])) == 0

    row_id = v["id"] if table is Voucher else tt["id"]
    async with db.transaction() as s:
        await s.execute(update(table).where(col(table.id) == uuid.UUID(row_id)).values(**values))
    assert rule in await rules_broken(db)
    capsys.readouterr()
    assert await check_command(pg_url, event_id=uuid.UUID(event["id"])) == 1
    reported = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{rule}:")]
    assert reported and all(row_id in line for line in reported), reported
