"""Pricing with a voucher (``checkout.pricing``), each kind against each pricing model: the unit price, the line's
discount, the fee on the discounted subtotal, and the buyer's own price checked against the discounted minimum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boxoffice.checkout.pricing import PricedItem, discounted, quote
from boxoffice.errors import ValidationFailed
from boxoffice.vouchers.contract import VoucherTerms


def item(model: str = "fixed", *, base: int = 10_000, qty: int = 2, voucher: VoucherTerms | None = None, **kw: int):
    return PricedItem(
        key="h1",
        name="GA",
        pricing_model=model,
        base_price_cents=base,
        minimum_price_cents=kw.get("minimum"),
        suggested_price_cents=kw.get("suggested"),
        quantity=qty,
        voucher=voucher,
    )


def v(kind: str, value: int = 0) -> VoucherTerms:
    return VoucherTerms(code="SAVE", kind=kind, value=value)


@pytest.mark.parametrize(
    ("voucher", "unit", "discount"),
    [
        (v("percentage", 2500), 7500, 5000),  # 25 % off two tickets of 100.00
        (v("percentage", 3333), 6667, 6666),  # 66.67 rounds half up to 66.67
        (v("percentage", 10_000), 0, 20_000),
        (v("amount_off", 3000), 7000, 6000),
        (v("amount_off", 12_000), 0, 20_000),  # never below 0
        (v("fixed_price", 4000), 4000, 12_000),
        (v("fixed_price", 15_000), 10_000, 0),  # never above the price without it
        (v("free"), 0, 20_000),
    ],
)
def test_fixed_price_ticket(voucher: VoucherTerms, unit: int, discount: int) -> None:
    q = quote([item(voucher=voucher)], {}, tip_cents=0, fee_bps=500, fee_fixed_cents=100)
    (line,) = q.lines
    assert (line.unit_price_cents, line.line_total_cents, line.discount_cents) == (unit, 2 * unit, discount)
    assert line.voucher_code == "SAVE" and q.discount_cents == discount
    assert q.subtotal_cents == 2 * unit
    # The fee is a share of what is paid for the tickets, after the discount; a free order pays none.
    assert q.fee_cents == ((2 * unit * 500 + 5000) // 10_000 + 100 if unit else 0)
    assert q.total_amount == q.subtotal_cents + q.fee_cents


def test_a_fixed_price_with_a_voucher_is_not_adjustable() -> None:
    with pytest.raises(ValidationFailed) as refused:
        quote([item(voucher=v("amount_off", 1000))], {"h1": 10_000}, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assert refused.value.code == "price_not_adjustable"
    ok = quote([item(voucher=v("amount_off", 1000))], {"h1": 9000}, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assert ok.lines[0].unit_price_cents == 9000


def test_pay_what_you_want_minimum_and_default_are_discounted() -> None:
    pwyw = {"base": 0, "minimum": 2000, "suggested": 5000}
    half = v("percentage", 5000)
    default = quote([item("pay_what_you_want", voucher=half, **pwyw)], {}, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assert (default.lines[0].unit_price_cents, default.discount_cents) == (2500, 5000)  # half the suggestion
    # The buyer may pay down to the discounted minimum (1000); the discount is what the old floor asked more.
    low = quote(
        [item("pay_what_you_want", voucher=half, **pwyw)], {"h1": 1200}, tip_cents=0, fee_bps=0, fee_fixed_cents=0
    )
    assert (low.lines[0].unit_price_cents, low.discount_cents) == (1200, 2 * 800)
    generous = quote(
        [item("pay_what_you_want", voucher=half, **pwyw)], {"h1": 9000}, tip_cents=0, fee_bps=0, fee_fixed_cents=0
    )
    assert (generous.lines[0].unit_price_cents, generous.discount_cents) == (9000, 0)
    with pytest.raises(ValidationFailed) as refused:
        quote([item("pay_what_you_want", voucher=half, **pwyw)], {"h1": 999}, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assert refused.value.code == "price_below_minimum" and refused.value.extra["minimum_price_cents"] == 1000


def test_free_ticket_type_stays_free() -> None:
    q = quote([item("free", base=0, voucher=v("amount_off", 500))], {}, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assert (q.lines[0].unit_price_cents, q.discount_cents, q.is_free) == (0, 0, True)


def test_lines_without_a_voucher_are_priced_as_before() -> None:
    mixed = quote(
        [item(voucher=v("free")), PricedItem("h2", "VIP", "fixed", 30_000, None, None, 1)],
        {},
        tip_cents=250,
        fee_bps=0,
        fee_fixed_cents=0,
    )
    assert [(ln.unit_price_cents, ln.discount_cents, ln.voucher_code) for ln in mixed.lines] == [
        (0, 20_000, "SAVE"),
        (30_000, 0, None),
    ]
    assert mixed.total_amount == 30_250


@given(
    price=st.integers(min_value=0, max_value=100_000_000),
    kind=st.sampled_from(["percentage", "amount_off", "fixed_price", "free"]),
    value=st.integers(min_value=0, max_value=100_000_000),
)
def test_a_voucher_never_raises_a_price_nor_makes_it_negative(price: int, kind: str, value: int) -> None:
    terms = v(kind, min(value, 10_000) if kind == "percentage" else value)
    assert 0 <= discounted(terms, price) <= price
