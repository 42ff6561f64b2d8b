"""Order totals, computed once and in one place, in integer minor units.

fixed: the ticket type's price (a buyer-chosen price is refused); pay_what_you_want: the buyer's price, at
least the minimum, else the suggested price (else the minimum); free: 0. A per-event service fee
(basis points of the subtotal, rounded half up, plus a fixed part) applies to orders with a paid subtotal.
A tip is added as given. An order whose total is 0 needs no payment; one above ``MAX_ORDER_TOTAL`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from boxoffice.catalogue.rules import PricingModel
from boxoffice.errors import ValidationFailed


@dataclass(frozen=True)
class PricedItem:
    key: str  # the hold id the buyer's price refers to
    name: str
    pricing_model: str
    base_price_cents: int
    minimum_price_cents: int | None
    suggested_price_cents: int | None
    quantity: int


@dataclass(frozen=True)
class QuoteLine:
    key: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


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
        price = unit_price(item, chosen.get(item.key))
        lines.append(QuoteLine(item.key, item.name, item.quantity, price, price * item.quantity))
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
