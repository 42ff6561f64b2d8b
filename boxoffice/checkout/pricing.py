"""Order totals, computed once and in one place, in integer minor units.

fixed: the ticket type's price (a buyer-chosen price is refused); pay_what_you_want: the buyer's price, at
least the minimum, else the suggested price (else the minimum); free: 0. A per-event service fee
(basis points of the subtotal, rounded half up, plus a fixed part) applies to orders with a paid subtotal.
A tip is added as given. An order whose total is 0 needs no payment; one above ``MAX_ORDER_TOTAL`` is refused.

A voucher (issue 13) prices each ticket of its line: a percentage off (the price rounded half up, as pretix does),
an amount off (never below 0), a fixed price (never above the price without it), or free. Fixed: the ticket type's
price, discounted. Pay-what-you-want: the minimum is discounted, and so is the suggested price the buyer pays when
choosing none. A line's discount is what the buyer would pay without the voucher, less what they pay. The fee is
a share of the discounted subtotal.
"""

from __future__ import annotations

from dataclasses import dataclass

from boxoffice.catalogue.rules import PricingModel
from boxoffice.errors import ValidationFailed
from boxoffice.vouchers.contract import VoucherKind, VoucherTerms


@dataclass(frozen=True)
class PricedItem:
    key: str  # the hold id the buyer's price refers to
    name: str
    pricing_model: str
    base_price_cents: int
    minimum_price_cents: int | None
    suggested_price_cents: int | None
    quantity: int
    voucher: VoucherTerms | None = None  # issue 13: the hold's voucher


@dataclass(frozen=True)
class QuoteLine:
    key: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    discount_cents: int = 0  # issue 13: off the whole line
    voucher_code: str | None = None


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    subtotal_cents: int
    fee_cents: int
    tip_cents: int
    total_amount: int

    @property
    def is_free(self) -> bool:
        return self.total_amount == 0

    @property
    def discount_cents(self) -> int:
        return sum(line.discount_cents for line in self.lines)


MAX_UNIT_PRICE = 100_000_000
# The money range (issue 10): amounts are PostgreSQL INTEGER columns (orders, lines, transactions, refunds,
# tickets, the ledger), so one order may charge at most 2**31 - 1 minor units, checked here, where every total is
# made, before anything is stored. That is 21,474,836.47 in a two-decimal currency: above what the providers take
# in one charge (Stripe 99,999,999 minor units), so no payable order is refused, and BIGINT columns would only
# admit orders that no provider could charge.
MAX_ORDER_TOTAL = 2**31 - 1


def unit_price(item: PricedItem, chosen: int | None) -> int:
    model = PricingModel(item.pricing_model)
    if model is PricingModel.FREE:
        if chosen not in (None, 0):
            raise ValidationFailed(f"{item.name} is free", code="price_not_adjustable", hold_id=item.key)
        return 0
    if model is PricingModel.FIXED:
        if chosen is not None and chosen != item.base_price_cents:
            raise ValidationFailed(
                f"{item.name} has a fixed price of {item.base_price_cents}",
                code="price_not_adjustable",
                hold_id=item.key,
            )
        return item.base_price_cents
    minimum = item.minimum_price_cents or 0
    if chosen is None:
        return item.suggested_price_cents if item.suggested_price_cents is not None else minimum
    if chosen < minimum:
        raise ValidationFailed(
            f"{item.name}: {chosen} is below the minimum of {minimum}",
            code="price_below_minimum",
            hold_id=item.key,
            minimum_price_cents=minimum,
        )
    if chosen > MAX_UNIT_PRICE:
        raise ValidationFailed(f"{item.name}: {chosen} is too large", code="invalid_price", hold_id=item.key)
    return chosen


def discounted(voucher: VoucherTerms, price: int) -> int:
    """``price`` with the voucher: never below 0, never above ``price``."""
    kind = VoucherKind(voucher.kind)
    if kind is VoucherKind.PERCENTAGE:
        return (price * (10_000 - voucher.value) + 5_000) // 10_000
    if kind is VoucherKind.AMOUNT_OFF:
        return max(price - voucher.value, 0)
    if kind is VoucherKind.FIXED_PRICE:
        return min(voucher.value, price)
    return 0


def voucher_price(item: PricedItem, voucher: VoucherTerms, chosen: int | None) -> tuple[int, int]:
    """A ticket's (price, discount) with the voucher; refuses a buyer's price as ``unit_price`` does."""
    model = PricingModel(item.pricing_model)
    if model is not PricingModel.PAY_WHAT_YOU_WANT:
        listed = unit_price(item, None)
        price = discounted(voucher, listed)
        if chosen is not None and chosen != price:
            raise ValidationFailed(
                f"{item.name} costs {price} with voucher {voucher.code}", code="price_not_adjustable", hold_id=item.key
            )
        return price, listed - price
    minimum = item.minimum_price_cents or 0
    if chosen is None:
        listed = unit_price(item, None)
        price = discounted(voucher, listed)
        return price, listed - price
    floor = discounted(voucher, minimum)
    if chosen < floor:
        raise ValidationFailed(
            f"{item.name}: {chosen} is below the minimum of {floor} with voucher {voucher.code}",
            code="price_below_minimum",
            hold_id=item.key,
            minimum_price_cents=floor,
        )
    if chosen > MAX_UNIT_PRICE:
        raise ValidationFailed(f"{item.name}: {chosen} is too large", code="invalid_price", hold_id=item.key)
    return chosen, max(minimum - chosen, 0)


def quote(
    items: list[PricedItem], chosen: dict[str, int], *, tip_cents: int, fee_bps: int, fee_fixed_cents: int
) -> Quote:
    """Price ``items``; ``chosen`` maps an item key to the buyer's unit price (pay-what-you-want)."""
    if tip_cents < 0:
        raise ValidationFailed("tip_cents cannot be negative", code="invalid_tip")
    unknown = set(chosen) - {i.key for i in items}
    if unknown:
        raise ValidationFailed(
            f"unit_prices_cents names holds not in this checkout: {sorted(unknown)}", code="validation_error"
        )
    lines = []
    for item in items:
        if item.voucher is None:
            price, off = unit_price(item, chosen.get(item.key)), 0
        else:
            price, off = voucher_price(item, item.voucher, chosen.get(item.key))
        code = item.voucher.code if item.voucher else None
        lines.append(
            QuoteLine(item.key, item.name, item.quantity, price, price * item.quantity, off * item.quantity, code)
        )
    subtotal = sum(line.line_total_cents for line in lines)
    fee = (subtotal * fee_bps + 5_000) // 10_000 + fee_fixed_cents if subtotal > 0 else 0
    total = subtotal + fee + tip_cents
    if total > MAX_ORDER_TOTAL:  # every part (a line, the subtotal, the fee, the tip) is at most the total
        raise ValidationFailed(
            f"the order's total of {total} (tickets {subtotal}, fee {fee}, tip {tip_cents}) exceeds the most one "
            f"order can charge, {MAX_ORDER_TOTAL}",
            code="order_total_too_large",
            total_amount=total,
            max_total_amount=MAX_ORDER_TOTAL,
        )
    return Quote(tuple(lines), subtotal, fee, tip_cents, total)
