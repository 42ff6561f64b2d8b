"""A checkout's draft: the buyer's name and e-mail and the attendees, kept in the database between the API's request
and the run's first step, so the checkout's workflow input (and so its history) carries the order id instead.

``save`` is called by the API before it starts the run (a repeat with the same order id keeps the first draft);
``open_order`` reads the draft in the transaction that creates the order and deletes it there; a checkout that
unwinds before that deletes it in ``cancel_order``; ``discard`` is also how the API removes a draft whose run never
started.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.models import CheckoutDraft
from boxoffice.models.types import utcnow


async def save(
    session: AsyncSession, order_id: str, *, email: str, name: str, attendees: Sequence[tuple[str, str]]
) -> None:
    """Keep what the buyer typed for ``order_id`` (``attendees`` as (name, email) pairs, in seat order). A draft that
    exists already is kept as it is: the first request of an Idempotency-Key is the one its run uses."""
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(CheckoutDraft)
    values = {
        "order_id": uuid.UUID(order_id),
        "buyer_email": email,
        "buyer_name": name,
        "attendees": [{"name": n, "email": e} for n, e in attendees],
        "created_at": utcnow(),
    }
    await session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["order_id"]))


async def load(session: AsyncSession, order_id: str) -> CheckoutDraft | None:
    """The draft of ``order_id``, or None once its order was created (or it was discarded)."""
    return await session.get(CheckoutDraft, uuid.UUID(order_id))


async def discard(session: AsyncSession, order_id: str) -> None:
    """Delete the draft of ``order_id`` if there is one (idempotent)."""
    await session.execute(delete(CheckoutDraft).where(col(CheckoutDraft.order_id) == uuid.UUID(order_id)))
