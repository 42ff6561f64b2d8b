"""The vouchers flow's contract: voucher kinds, what pricing needs of a voucher, and the stable problem codes.

Dependency-free (standard library only): pricing, holds and tests use it without importing the flow's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VoucherKind(StrEnum):
    PERCENTAGE = "percentage"  # value: basis points off each ticket (1250 = 12.5 %)
    AMOUNT_OFF = "amount_off"  # value: minor units off each ticket (never below 0)
    FIXED_PRICE = "fixed_price"  # value: each ticket's price in minor units (never above the price without it)
    FREE = "free"  # each ticket costs nothing


@dataclass(frozen=True)
class VoucherTerms:
    """What a voucher does to a price: pricing reads nothing else of it."""

    code: str
    kind: str
    value: int


class VoucherCodes:
    """The ``code`` of every problem a voucher can answer with."""

    NOT_FOUND = "voucher_not_found"  # 404: no such code for this event (or not this organisation's voucher)
    INACTIVE = "voucher_inactive"  # 409: deactivated by the organiser
    NOT_YET_VALID = "voucher_not_yet_valid"  # 409: before its validity window
    EXPIRED = "voucher_expired"  # 409: after its validity window
    EXHAUSTED = "voucher_exhausted"  # 409: fewer uses left than seats asked for
    WRONG_TICKET_TYPE = "voucher_not_valid_for_ticket_type"  # 422: the voucher is for another ticket type
    CODE_TAKEN = "voucher_code_taken"  # 409: the event has a voucher with this code already
    SEATS_UNAVAILABLE = "voucher_seats_unavailable"  # 409: too few seats left to reserve for its holders
    MAX_USES_BELOW_USES = "voucher_max_uses_below_uses"  # 409: more uses redeemed than the new maximum
    INVALID_DISCOUNT = "invalid_discount"  # 422: the kind and its amount do not fit together
    RESERVATION_NEEDS_TICKET_TYPE = "reservation_needs_ticket_type"  # 422: seats are reserved in one ticket type
    WINDOW_INVERTED = "voucher_window_inverted"  # 422: valid_until not after valid_from
