"""Every status machine, declared once. ``check_transition`` is enforced on flush for all tables (see
``models/__init__.py``), so an illegal change is refused by the model whoever attempts it."""

from __future__ import annotations

from enum import StrEnum

from boxoffice.errors import IllegalTransition


class HoldStatus(StrEnum):
    ACTIVE = "active"
    CONVERTED = "converted"
    RELEASED = "released"
    EXPIRED = "expired"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    ISSUED = "issued"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class TransactionStatus(StrEnum):
    INITIATED = "initiated"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class TicketStatus(StrEnum):
    ACTIVE = "active"
    SCANNED = "scanned"
    USED = "used"
    VOIDED = "voided"
    REFUNDED = "refunded"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WaitlistStatus(StrEnum):
    """Issue 13: a buyer in a waiting list: in the line, holding an offer, or out of it (the offer taken, passed
    on unused, the buyer left, or the line closed because sales are over)."""

    WAITING = "waiting"
    OFFERED = "offered"
    TAKEN = "taken"
    PASSED = "passed"
    LEFT = "left"
    CLOSED = "closed"


# A refund not settled yet: an order has at most one (a failed one is being sent again).
REFUND_IN_FLIGHT = (RefundStatus.REQUESTED.value, RefundStatus.PENDING.value, RefundStatus.FAILED.value)

H, O, P, F, T, K, R = (  # noqa: E741
    HoldStatus,
    OrderStatus,
    PaymentStatus,
    FulfillmentStatus,
    TransactionStatus,
    TicketStatus,
    RefundStatus,
)

TRANSITIONS: dict[type[StrEnum], dict[StrEnum, frozenset[StrEnum]]] = {
    HoldStatus: {H.ACTIVE: frozenset({H.CONVERTED, H.RELEASED, H.EXPIRED})},
    OrderStatus: {
        O.PENDING: frozenset({O.PAID, O.CANCELLED}),
        O.PAID: frozenset({O.FULFILLED, O.REFUNDED}),
        O.FULFILLED: frozenset({O.REFUNDED}),
    },
    PaymentStatus: {
        P.NOT_REQUIRED: frozenset(),
        # PENDING/FAILED → REFUNDED: money captured for an order that could not be fulfilled, refunded at once.
        P.PENDING: frozenset({P.PAID, P.FAILED, P.REFUNDED}),
        P.FAILED: frozenset({P.REFUNDED}),
        P.PAID: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
        P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    },
    FulfillmentStatus: {
        F.UNFULFILLED: frozenset({F.ISSUED, F.CANCELLED}),
        F.ISSUED: frozenset({F.DELIVERED, F.CANCELLED}),
        F.DELIVERED: frozenset({F.CANCELLED}),
    },
    TransactionStatus: {
        T.INITIATED: frozenset({T.PENDING, T.SUCCEEDED, T.FAILED}),
        T.PENDING: frozenset({T.SUCCEEDED, T.FAILED}),
        T.SUCCEEDED: frozenset({T.REFUNDED}),
        # A late capture: the provider confirms money we had given up on; it is then refunded.
        T.FAILED: frozenset({T.SUCCEEDED}),
    },
    TicketStatus: {
        K.ACTIVE: frozenset({K.SCANNED, K.VOIDED, K.REFUNDED}),
        K.SCANNED: frozenset({K.USED, K.VOIDED, K.REFUNDED}),
        K.USED: frozenset(),
    },
    RefundStatus: {
        R.REQUESTED: frozenset({R.PENDING, R.SUCCEEDED, R.FAILED}),
        R.PENDING: frozenset({R.SUCCEEDED, R.FAILED}),
        R.FAILED: frozenset({R.PENDING, R.SUCCEEDED}),
    },
    WaitlistStatus: {  # issue 13
        WaitlistStatus.WAITING: frozenset({WaitlistStatus.OFFERED, WaitlistStatus.LEFT, WaitlistStatus.CLOSED}),
        WaitlistStatus.OFFERED: frozenset({WaitlistStatus.TAKEN, WaitlistStatus.PASSED, WaitlistStatus.LEFT}),
    },
}


def can_transition(machine: type[StrEnum], current: str, new: str) -> bool:
    return machine(new) in TRANSITIONS[machine].get(machine(current), frozenset())


def check_transition(machine: type[StrEnum], current: str, new: str, *, what: str = "") -> None:
    """Raise ``IllegalTransition`` unless ``current → new`` is declared for ``machine``."""
    if current == new:
        return
    if not can_transition(machine, current, new):
        label = what or machine.__name__
        raise IllegalTransition(f"{label}: {current} → {new} is not allowed", current=current, new=new)


def sources_of(machine: type[StrEnum], new: StrEnum) -> list[str]:
    """The statuses from which ``new`` may be reached: for conditional bulk ``UPDATE … WHERE status IN``."""
    return [str(src) for src, targets in TRANSITIONS[machine].items() if new in targets]
