"""Property tests of pricing (``checkout.pricing``): totals, fees, rounding and limits hold for any order.

The model they check: a line is unit price × quantity; the fee is the subtotal's basis points rounded half up,
plus the fixed part, and only on a paid subtotal; the total is subtotal + fee + tip; every amount is a
non-negative integer; a total beyond ``MAX_ORDER_TOTAL`` (the money columns) is refused with
``order_total_too_large``, whichever part pushed it there. Before issue 10 nothing bounded the total, so
``test_every_quote_fits_the_money_columns`` failed there.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from boxoffice.checkout.pricing import MAX_ORDER_TOTAL, MAX_UNIT_PRICE, PricedItem, Quote, quote, unit_price
from boxoffice.errors import ValidationFailed

PRICE = st.integers(min_value=0, max_value=MAX_UNIT_PRICE)
QUANTITY = st.integers(min_value=1, max_value=1000)
FEE_BPS = st.integers(min_value=0, max_value=10_000)
FIXED_FEE = st.integers(min_value=0, max_value=MAX_UNIT_PRICE)
TIP = st.integers(min_value=0, max_value=MAX_UNIT_PRICE)


@st.composite
def items(draw: st.DrawFn) -> PricedItem:
    model = draw(st.sampled_from(["fixed", "pay_what_you_want", "free"]))
    base = 0 if model == "free" else draw(PRICE)
    minimum = draw(st.none() | PRICE) if model == "pay_what_you_want" else None
    suggested = draw(st.none() | PRICE) if model == "pay_what_you_want" else None
    key = f"hold-{draw(st.uuids())}"
    return PricedItem(key, "T", model, base, minimum, suggested, draw(QUANTITY))


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[PricedItem], dict[str, int]]:
    """Up to 20 holds (the checkout's limit) and, for some pay-what-you-want ones, the buyer's price."""
    chosen_items = draw(st.lists(items(), min_size=1, max_size=20, unique_by=lambda i: i.key))
    chosen: dict[str, int] = {}
    for item in chosen_items:
        if item.pricing_model == "pay_what_you_want" and draw(st.booleans()):
            chosen[item.key] = draw(st.integers(min_value=item.minimum_price_cents or 0, max_value=MAX_UNIT_PRICE))
    return chosen_items, chosen


def expected_fee(subtotal: int, bps: int, fixed: int) -> int:
    if subtotal == 0:
        return 0
    return int((Decimal(subtotal) * bps / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + fixed


def price_or_refusal(
    order: tuple[list[PricedItem], dict[str, int]], *, tip_cents: int, fee_bps: int, fee_fixed_cents: int
) -> Quote | ValidationFailed:
    try:
        return quote(*order, tip_cents=tip_cents, fee_bps=fee_bps, fee_fixed_cents=fee_fixed_cents)
    except ValidationFailed as exc:
        return exc


@settings(max_examples=400, deadline=None)
@given(orders(), TIP, FEE_BPS, FIXED_FEE)
def test_every_quote_fits_the_money_columns(order: Any, tip: int, bps: int, fixed: int) -> None:
    result = price_or_refusal(order, tip_cents=tip, fee_bps=bps, fee_fixed_cents=fixed)
    items_, chosen = order
    subtotal = sum(unit_price(i, chosen.get(i.key)) * i.quantity for i in items_)
    total = subtotal + expected_fee(subtotal, bps, fixed) + tip
    if isinstance(result, ValidationFailed):
        assert result.code == "order_total_too_large" and total > MAX_ORDER_TOTAL, result.detail
        assert result.extra == {"total_amount": total, "max_total_amount": MAX_ORDER_TOTAL}
        return
    assert total <= MAX_ORDER_TOTAL
    parts = [result.subtotal_cents, result.fee_cents, result.tip_cents, result.total_amount]
    assert all(isinstance(p, int) and 0 <= p <= MAX_ORDER_TOTAL for p in parts)
    assert all(0 <= line.unit_price_cents <= line.line_total_cents <= result.subtotal_cents for line in result.lines)
    assert result.total_amount == result.subtotal_cents + result.fee_cents + result.tip_cents == total
    assert result.fee_cents == expected_fee(result.subtotal_cents, bps, fixed)
    assert result.tip_cents == tip and result.is_free == (total == 0)


@settings(max_examples=300, deadline=None)
@given(orders())
def test_lines_follow_the_items(order: Any) -> None:
    items_, chosen = order
    result = price_or_refusal(order, tip_cents=0, fee_bps=0, fee_fixed_cents=0)
    assume(isinstance(result, Quote))  # (orders too large to sell are the test above's)
    assert isinstance(result, Quote)
    for item, line in zip(items_, result.lines, strict=True):
        assert (line.key, line.quantity) == (item.key, item.quantity)
        assert line.line_total_cents == line.unit_price_cents * item.quantity
        if item.pricing_model == "fixed":
            assert line.unit_price_cents == item.base_price_cents
        elif item.pricing_model == "free":
            assert line.unit_price_cents == 0
        elif item.key in chosen:
            assert line.unit_price_cents == chosen[item.key] >= (item.minimum_price_cents or 0)
        else:
            fallback = item.suggested_price_cents
            assert line.unit_price_cents == (fallback if fallback is not None else item.minimum_price_cents or 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_ORDER_TOTAL), FEE_BPS)
def test_the_fee_rounds_half_up(subtotal: int, bps: int) -> None:
    item = PricedItem("h", "T", "fixed", subtotal, None, None, 1)
    try:
        result = quote([item], {}, tip_cents=0, fee_bps=bps, fee_fixed_cents=0)
    except ValidationFailed as exc:
        assert exc.code == "order_total_too_large"
        return
    exact = Decimal(result.subtotal_cents) * bps / 10_000
    assert abs(result.fee_cents - exact) <= Decimal("0.5")
    if exact - int(exact) == Decimal("0.5"):
        assert result.fee_cents == int(exact) + 1  # half up, never to even


@settings(max_examples=200, deadline=None)
@given(orders(), TIP, FEE_BPS, FIXED_FEE, st.integers(min_value=1, max_value=50))
def test_more_seats_never_cost_less(order: Any, tip: int, bps: int, fixed: int, extra: int) -> None:
    items_, chosen = order
    first, *rest = items_
    bigger = [dataclasses.replace(first, quantity=first.quantity + extra), *rest]
    small = price_or_refusal(order, tip_cents=tip, fee_bps=bps, fee_fixed_cents=fixed)
    large = price_or_refusal((bigger, chosen), tip_cents=tip, fee_bps=bps, fee_fixed_cents=fixed)
    if isinstance(small, ValidationFailed):
        assert isinstance(large, ValidationFailed)  # refused for size stays refused when larger
    elif isinstance(large, Quote):
        assert large.total_amount >= small.total_amount


@settings(max_examples=200, deadline=None)
@given(items(), st.integers(min_value=-(10**12), max_value=10**12))
def test_a_buyers_price_is_taken_only_where_allowed(item: PricedItem, chosen: int) -> None:
    try:
        price = unit_price(item, chosen)
    except ValidationFailed as exc:
        if item.pricing_model == "pay_what_you_want":
            below = chosen < (item.minimum_price_cents or 0)
            assert exc.code == ("price_below_minimum" if below else "invalid_price")
            assert below or chosen > MAX_UNIT_PRICE
        else:
            assert exc.code == "price_not_adjustable"
            assert chosen != (0 if item.pricing_model == "free" else item.base_price_cents)
        return
    assert 0 <= price <= MAX_UNIT_PRICE
    if item.pricing_model == "pay_what_you_want":
        assert price == chosen


@pytest.mark.parametrize(
    ("price", "seats", "tip", "bps", "fixed", "total"),
    [
        (100_000_000, 21, 47_483_647, 0, 0, MAX_ORDER_TOTAL),  # exactly the most: sold
        (100_000_000, 21, 47_483_648, 0, 0, None),  # one more through the tip
        (100_000_000, 21, 0, 0, 47_483_648, None),  # … through the fixed fee
        (100_000_000, 11, 0, 10_000, 0, None),  # … through the percentage fee
        (0, 1000, MAX_UNIT_PRICE, 10_000, MAX_UNIT_PRICE, MAX_UNIT_PRICE),  # no fee on a free order, only the tip
    ],
)
def test_the_money_range_edges(price: int, seats: int, tip: int, bps: int, fixed: int, total: int | None) -> None:
    item = PricedItem("h", "T", "fixed" if price else "free", price, None, None, seats)
    result = price_or_refusal(([item], {}), tip_cents=tip, fee_bps=bps, fee_fixed_cents=fixed)
    if total is None:
        assert isinstance(result, ValidationFailed) and result.code == "order_total_too_large"
    else:
        assert isinstance(result, Quote) and result.total_amount == total
