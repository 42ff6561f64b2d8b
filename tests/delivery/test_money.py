"""Money shown right (issue 12): JPY (no decimals), ZAR (two) and KWD (three) on the sandbox's pay page, the ticket
PDF and the e-mail; currencies and price limits validated by ISO 4217; Stripe amounts in Stripe's own units."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.books import assert_books_balanced
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.delivery.shop import about, open_sale, parts, pdf_pages, received, start_order
from tests.e2e_stack import Stack
from tests.fakes import StripeFake, running
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type
from tests.smtpserver import SmtpServer

# currency, one ticket's price in ISO minor units, how one ticket and two are written (locale "en")
CASES = [
    ("JPY", 1500, "¥1,500", "¥3,000"),
    ("ZAR", 15000, "ZAR 150.00", "ZAR 300.00"),
    ("KWD", 1500, "KWD 1.500", "KWD 3.000"),
]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(("currency", "price", "one", "two"), CASES, ids=[c[0] for c in CASES])
async def test_amounts_on_pay_page_pdf_and_email(
    api: httpx.AsyncClient,
    tokens: Tokens,
    smtp_plain: SmtpServer,
    tmp_path: Path,
    currency: str,
    price: int,
    one: str,
    two: str,
) -> None:
    sale = await open_sale(api, tokens, currency=currency, price=price)
    started = await start_order(api, tokens, sale)
    assert started["total_amount"] == 2 * price and started["currency"] == currency

    page = await api.get(httpx.URL(started["payment_url"]).raw_path.decode())
    assert page.status_code == 200
    assert f'<p class="amount">{two}</p>' in plain(page.text)
    assert f"{2 * price / 100:.2f} {currency}" not in page.text  # never the old two-decimal guess ("30.00 JPY")

    await press(api, started["payment_url"])
    order = await wait_order(api, tokens.buyer(), started["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled"

    pdf = (await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())).content
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) == 2 and all(one in page for page in pages), pages

    (msg,) = await received(smtp_plain, 1, about(f"confirmation.{order['id']}"))
    text, html = map(plain, parts(msg))
    assert f"Total paid: {two}" in text and text.count(one) == 2
    assert two in html and one in html


async def test_currency_and_price_limits_follow_iso_4217(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin()
    for code in ("XAU", "XXX", "ABC"):  # a metal and the testing code have no minor unit; ABC is no currency
        r = await api.post(
            "/v1/events",
            json={
                "name": "x",
                "starts_at": "2031-01-01T10:00:00Z",
                "ends_at": "2031-01-01T12:00:00Z",
                "currency": code,
            },
            headers=admin,
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_currency", (code, r.text)
    jpy = await make_event(api, admin, currency="jpy")
    assert jpy["currency"] == "JPY"

    # A limit in whole units of the event's currency: ¥2,000,000 is refused where R20,000.00 (the same number of
    # minor units) is fine.
    r = await api.post(
        f"/v1/events/{jpy['id']}/ticket-types",
        json={"name": "VIP", "capacity": 5, "pricing_model": "fixed", "base_price_cents": 2_000_000},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "price_too_high", r.text
    assert r.json()["max_minor_units"] == 1_000_000
    zar = await make_event(api, admin, currency="ZAR")
    await make_ticket_type(api, admin, zar["id"], base_price_cents=2_000_000)
    r = await api.post(
        "/v1/events",
        json={
            "name": "x",
            "starts_at": "2031-01-01T10:00:00Z",
            "ends_at": "2031-01-01T12:00:00Z",
            "currency": "JPY",
            "service_fee_fixed_cents": 5_000_000,
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "price_too_high"


# --- Stripe, through its fake over real HTTP ---------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[Any]:
    """Only Stripe here (``tests/e2e_stack.py`` runs every provider by default)."""
    with running(StripeFake()) as served:
        yield served


async def _stripe_order(stack: Stack, currency: str, price: int) -> tuple[dict[str, Any], dict[str, str]]:
    admin = stack.tokens.admin()
    event = await make_event(stack.api, admin, currency=currency)
    tt = await make_ticket_type(stack.api, admin, event["id"], capacity=10, base_price_cents=price)
    held = await hold(stack.api, stack.tokens, tt["id"], 2)
    r = await checkout(stack.api, stack.tokens, [held], provider="stripe")
    assert r.status_code == 201, r.text
    (sent,) = stack.fake.requests_to("POST", "/v1/checkout/sessions")[-1:]
    return r.json(), dict(httpx.QueryParams(sent.body.decode()))


@pytest.mark.parametrize(
    ("currency", "price", "stripe_unit"),
    [("JPY", 1500, 1500), ("ISK", 5000, 500000), ("KWD", 1500, 1500), ("ZAR", 15000, 15000)],
    ids=["JPY", "ISK", "KWD", "ZAR"],
)
async def test_stripe_gets_its_own_units_and_reports_back_in_iso(
    stack: Stack, currency: str, price: int, stripe_unit: int
) -> None:
    """JPY is zero-decimal at Stripe as in ISO; ISK is zero-decimal in ISO but Stripe takes it in hundredths; KWD
    has three decimals at both (Stripe wants the last one 0). Captures and refunds come back in ISO units."""
    started, form = await _stripe_order(stack, currency, price)
    assert form["line_items[0][price_data][currency]"] == currency.lower()
    assert form["line_items[0][price_data][unit_amount]"] == str(stripe_unit)
    assert form["line_items[0][quantity]"] == "2"
    order = await stack.order(started["order_id"])
    await stack.pay(order)
    order = await stack.wait_paid(order["id"])
    assert order["transaction"]["captured_amount"] == 2 * price  # ISO minor units, not Stripe's

    refund = await stack.refund(order["id"], ticket_ids=[order["tickets"][0]["id"]])
    assert refund["amount"] == price
    provider_refund = await stack.provider_refund_id(refund["refund_id"])
    assert stack.fake.refunds[provider_refund]["amount"] == stripe_unit
    await stack.settle(provider_refund)
    assert (await stack.refunded(refund["refund_id"])).state == "succeeded"
    after = await stack.order(order["id"])
    assert after["transaction"]["refunded_amount"] == price
    await assert_books_balanced(stack.db)


async def test_stripe_refuses_an_amount_it_cannot_charge(stack: Stack) -> None:
    """1.505 KWD: Stripe's three-decimal amounts must end in 0. Refused before a session exists, never rounded."""
    admin = stack.tokens.admin()
    event = await make_event(stack.api, admin, currency="KWD")
    tt = await make_ticket_type(stack.api, admin, event["id"], capacity=10, base_price_cents=1505)
    held = await hold(stack.api, stack.tokens, tt["id"], 1)
    r = await checkout(stack.api, stack.tokens, [held], provider="stripe")
    assert r.status_code == 502 and r.json()["code"] == "amount_not_representable", r.text
    assert stack.fake.sessions == {}
    await assert_books_balanced(stack.db)
