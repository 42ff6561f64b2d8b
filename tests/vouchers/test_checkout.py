"""Each kind of voucher, priced right end to end through a sandbox checkout: the order and its lines record the voucher
and the discount, the fee is a share of the discounted subtotal, the sale journal names it, the confirmation e-mail
and the ticket PDF show it, the books balance; a full refund gives the uses back."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import LedgerEntry
from boxoffice.money import format_money
from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, press, wait_order
from tests.delivery.shop import about, attachment, parts, pdf_pages, received
from tests.harness import Tokens, settings_for
from tests.helpers import make_event, make_ticket_type
from tests.smtpserver import SmtpServer
from tests.vouchers.helpers import hold_with, make_voucher, voucher_row

pytestmark = pytest.mark.usefixtures("worker")
PRICE, FEE_BPS, FEE_FIXED = 10_000, 500, 100


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, task_queue: str, smtp_plain: SmtpServer) -> Settings:
    return settings_for(tmp_path, pg_url, task_queue, smtp_url=smtp_plain.url())


KINDS: dict[str, tuple[dict[str, Any], int]] = {  # voucher → the price of each ticket with it
    "percentage": ({"kind": "percentage", "percent_off": 25}, 7500),
    "amount_off": ({"kind": "amount_off", "amount_off_cents": 3000}, 7000),
    "fixed_price": ({"kind": "fixed_price", "price_cents": 4000}, 4000),
    "free": ({"kind": "free"}, 0),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_priced_end_to_end(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, smtp_plain: SmtpServer, tmp_path: Path, kind: str
) -> None:
    terms, unit = KINDS[kind]
    admin = tokens.admin()
    event = await make_event(api, admin, service_fee_bps=FEE_BPS, service_fee_fixed_cents=FEE_FIXED)
    tt = await make_ticket_type(api, admin, event["id"], capacity=20, base_price_cents=PRICE)
    code = f"SPRING-{kind.upper().replace('_', '')}"
    voucher = await make_voucher(api, tokens, event["id"], code=code.lower(), max_uses=5, **terms)
    assert voucher["code"] == code

    held = await hold_with(api, tokens, tt["id"], code, qty=2)
    assert held.status_code == 201, held.text
    assert held.json()["voucher_code"] == code
    started = await checkout(api, tokens, [held.json()["id"]])
    assert started.status_code == 201, started.text
    subtotal = 2 * unit
    fee = (subtotal * FEE_BPS + 5000) // 10_000 + FEE_FIXED if subtotal else 0
    assert started.json()["total_amount"] == subtotal + fee
    if subtotal:
        await press(api, started.json()["payment_url"])
    else:
        assert started.json()["payment_url"] is None  # a free order needs no payment
    oid = started.json()["order_id"]
    order = await wait_order(api, tokens.buyer(), oid, lambda o: o["status"] == "fulfilled", timeout=60)
    assert order["status"] == "fulfilled", order
    assert (order["subtotal_cents"], order["fee_cents"], order["discount_cents"]) == (
        subtotal,
        fee,
        2 * PRICE - subtotal,
    )
    (line,) = order["lines"]
    assert (line["unit_price_cents"], line["voucher_code"], line["discount_cents"]) == (
        unit,
        code,
        2 * PRICE - subtotal,
    )
    assert (await voucher_row(db, voucher["id"])).uses == 2

    # The ledger: the organiser's revenue is the discounted subtotal (no contra account); the memo names the voucher.
    async with db.session() as s:
        entries = (await s.execute(select(LedgerEntry).where(col(LedgerEntry.order_id) == uuid.UUID(oid)))).scalars()
        sale = [e for e in entries if e.kind == "sale"]
    if subtotal:
        assert {e.account: e.amount for e in sale}["organizer_payable"] == -subtotal
        assert all(code in (e.memo or "") and str(2 * PRICE - subtotal) in (e.memo or "") for e in sale)
    else:
        assert sale == []  # nothing was paid, nothing is posted
    await assert_books_balanced(db)

    # The e-mail and the PDF show the voucher and the discount.
    (msg,) = await received(smtp_plain, 1, about(f"confirmation.{oid}"))
    text, html = parts(msg)
    off = format_money(2 * PRICE - subtotal, "ZAR")
    assert f"Voucher {code}: -{off}" in text and f"with voucher {code}" in text
    assert f"Voucher {code}" in html and off in html
    assert f"Total paid: {format_money(subtotal + fee, 'ZAR')}" in text
    pages = pdf_pages(attachment(msg), tmp_path)
    assert len(pages) == 2 and all(f"(voucher {code})" in " ".join(p.split()) for p in pages)

    if subtotal:  # a full refund gives both uses back (as pretix does for cancelled positions)
        r = await api.post(f"/v1/orders/{oid}/refunds", json={}, headers=admin)
        assert r.status_code == 202, r.text
        done = await wait_order(api, admin, oid, lambda o: o["status"] == "refunded", timeout=60)
        assert done["status"] == "refunded", done
        assert (await voucher_row(db, voucher["id"])).uses == 0
        await assert_books_balanced(db)


async def test_partial_refund_gives_back_one_use_and_the_discounted_price(
    api: httpx.AsyncClient, tokens: Tokens, db: Database
) -> None:
    admin = tokens.admin()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=20, base_price_cents=PRICE)
    voucher = await make_voucher(api, tokens, event["id"], code="HALF", percent_off=50, max_uses=3)
    held = (await hold_with(api, tokens, tt["id"], "half", qty=3)).json()
    started = (await checkout(api, tokens, [held["id"]])).json()
    await press(api, started["payment_url"])
    order: dict[str, Any] = await wait_order(api, admin, started["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["total_amount"] == 3 * 5000
    r = await api.post(
        f"/v1/orders/{order['id']}/refunds", json={"ticket_ids": [order["tickets"][0]["id"]]}, headers=admin
    )
    assert r.status_code == 202 and r.json()["amount"] == 5000, r.text  # the price paid, not the list price
    await wait_order(api, admin, order["id"], lambda o: o["payment_status"] == "partially_refunded")
    assert (await voucher_row(db, voucher["id"])).uses == 2
    again = await hold_with(api, tokens, tt["id"], "HALF", user="bob")
    assert again.status_code == 201, again.text  # the use given back is redeemable again
    await assert_books_balanced(db)
