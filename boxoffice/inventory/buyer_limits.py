"""How many seats one buyer may hold at once, so one token cannot keep an event sold out.

A buyer's active holds (claimed by a checkout or not) count against two caps, per ticket type and per event,
from the settings ``BOXOFFICE_BUYER_HOLD_LIMIT_PER_TICKET_TYPE`` and ``…_PER_EVENT`` (0 = no cap). Seats a
buyer has bought do not count: a cap on holding is not a cap on buying (``max_per_order`` limits an order).

The cap is a condition of taking the seats, never a check before it, so no burst of one buyer's requests gets
past it: on PostgreSQL inside the hold's single statement (``may_hold_sql``), on SQLite inside the hold's
transaction, which begins IMMEDIATE so writers run one at a time (``check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, bindparam, case, func, select

from boxoffice.errors import Conflict
from boxoffice.models import Hold
from boxoffice.models.states import HoldStatus

_H = Hold.__table__  # type: ignore[attr-defined]

# What one buyer holds now: (in this ticket type, in this event).
_BUYER_HELD = select(
    func.coalesce(func.sum(case((_H.c.ticket_type_id == bindparam("tt_id"), _H.c.quantity), else_=0)), 0),
    func.coalesce(func.sum(_H.c.quantity), 0),
).where(
    _H.c.organization_id == bindparam("org"),
    _H.c.user_id == bindparam("user"),
    _H.c.event_id == bindparam("event_id"),
    _H.c.status == HoldStatus.ACTIVE.value,
)


class HoldLimitReached(Conflict):
    code, title = "hold_limit_reached", "Hold limit reached"


@dataclass(frozen=True)
class BuyerLimits:
    """The most seats one buyer may hold at once, per ticket type and per event; 0 = no cap."""

    per_ticket_type: int = 0
    per_event: int = 0

    @property
    def any(self) -> bool:
        return self.per_ticket_type > 0 or self.per_event > 0


def may_hold_sql(org: Any, user: Any, event_id: Any, ticket_type_id: Any, quantity: Any, limits: Any) -> Any:
    """PostgreSQL: whether the buyer may hold ``quantity`` more seats, as a condition of the hold's own statement
    (``limits`` are the per-ticket-type and per-event caps, as SQL expressions).

    ``boxoffice_buyer_may_hold`` (migration 0006) takes a transaction-scoped lock for the buyer, then counts
    their active holds. The function is VOLATILE, so its count runs on a fresh snapshot taken after the lock: it
    sees every hold a concurrent request of the same buyer committed while this one waited. A subquery could not:
    it reads the statement's snapshot, taken before the lock, so two requests would both count the same room.
    """
    per_type, per_event = limits
    return func.boxoffice_buyer_may_hold(
        org, user, event_id, ticket_type_id, quantity, per_type, per_event, type_=Boolean
    )


async def check(
    conn: Any, org: str, user: str, event_id: Any, ticket_type_id: Any, quantity: int, limits: BuyerLimits
) -> None:
    """Raise ``HoldLimitReached`` if holding ``quantity`` more seats would take the buyer past a cap. Atomic where
    the transaction serialises writers (SQLite); on PostgreSQL it only says why ``may_hold_sql`` refused."""
    if not limits.any:
        return
    params = {"tt_id": ticket_type_id, "org": org, "user": user, "event_id": event_id}
    in_type, in_event = (await conn.execute(_BUYER_HELD, params)).one()
    for scope, limit, held in (
        ("ticket_type", limits.per_ticket_type, in_type),
        ("event", limits.per_event, in_event),
    ):
        if limit and held + quantity > limit:
            raise HoldLimitReached(
                f"one buyer may hold at most {limit} seats per {scope.replace('_', ' ')} at once; "
                f"you hold {held} and asked for {quantity} more",
                scope=scope,
                limit=limit,
                held=int(held),
            )
