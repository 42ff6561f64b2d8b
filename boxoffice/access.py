"""Who sees what: the one visibility rule for orders and tickets, and organisations coming into being.

A buyer sees their own orders and tickets, an organisation's admin sees all of that organisation's, and anyone
else (another organisation, another buyer, a scanner) sees nothing: a 404, never data. Lists apply the same rule
as reads, by role, so a scanner whose user id equals a buyer's lists nothing of that buyer's.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import false
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.auth import Principal, Role
from boxoffice.errors import NotFound
from boxoffice.models import Order, Organization, Ticket

Owned = TypeVar("Owned", Order, Ticket)


def can_see(who: Principal, organization_id: str, user_id: str) -> bool:
    """Whether ``who`` may see an object of ``organization_id`` bought by ``user_id``."""
    if organization_id != who.org_id:
        return False
    return who.role is Role.ORG_ADMIN or (who.role is Role.BUYER and user_id == who.user_id)


def visible_to(who: Principal, table: type[Owned]) -> Any:
    """The SQL condition selecting exactly the rows of ``table`` (orders or tickets) that ``can_see`` allows."""
    if who.role is Role.ORG_ADMIN:
        return col(table.organization_id) == who.org_id
    if who.role is Role.BUYER:
        return (col(table.organization_id) == who.org_id) & (col(table.user_id) == who.user_id)
    return false()


async def get_visible(session: AsyncSession, who: Principal, table: type[Owned], object_id: uuid.UUID) -> Owned:
    """The order or ticket ``object_id`` if ``who`` may see it, else ``NotFound`` (``order_not_found`` …)."""
    found = await session.get(table, object_id)
    if found is None or not can_see(who, found.organization_id, found.user_id):
        raise NotFound(f"{table.__name__.lower()} not found", code=f"{table.__name__.lower()}_not_found")
    return found


async def get_visible_order(session: AsyncSession, who: Principal, order_id: uuid.UUID) -> Order:
    return await get_visible(session, who, Order, order_id)


async def ensure_organization(session: AsyncSession, org_id: str) -> None:
    """Create the organisation on first sight (idempotent, race-free on both databases)."""
    if await session.get(Organization, org_id) is not None:
        return
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(Organization)
    await session.execute(ins.values(id=org_id, name=org_id).on_conflict_do_nothing())
