"""Seat holds: ``POST /v1/holds``, ``GET`` and ``DELETE /v1/holds/{id}``."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice.api.deps import BuyerUser, SessionDep, SettingsDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Body
from boxoffice.inventory import holds, taking
from boxoffice.inventory.buyer_limits import BuyerLimits
from boxoffice.models import Hold
from boxoffice.models.types import utcnow
from boxoffice.vouchers import redemption
from boxoffice.vouchers.schemas import VoucherCode

router = APIRouter(prefix="/v1/holds", tags=["holds"])


class HoldIn(Body):
    ticket_type_id: uuid.UUID
    quantity: int = Field(ge=1, le=1000)
    # Issue 13: one use of the voucher per seat, taken with the seats (its seats, if it reserves some).
    voucher: VoucherCode | None = Field(default=None, description="a voucher code of the event (any case)")


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    quantity: int
    status: str
    expires_at: datetime
    order_id: uuid.UUID | None
    voucher_id: uuid.UUID | None = None
    voucher_code: str | None = None


@router.post("", status_code=201, response_model=HoldOut, responses=responses(401, 403, 404, 409, 422))
async def create_hold(body: HoldIn, who: BuyerUser, session: SessionDep, settings: SettingsDep) -> HoldOut:
    limits = BuyerLimits(settings.buyer_hold_limit_per_ticket_type, settings.buyer_hold_limit_per_event)
    hold = await taking.create_hold(
        session,
        who,
        body.ticket_type_id,
        body.quantity,
        ttl_seconds=settings.hold_ttl_seconds,
        now=utcnow(),
        limits=limits,
        voucher=body.voucher,
    )
    await session.commit()
    return await _out(session, hold)


@router.get("/{hold_id}", response_model=HoldOut, responses=responses(401, 403, 404, 422))
async def get_hold(hold_id: uuid.UUID, who: BuyerUser, session: SessionDep) -> HoldOut:
    return await _out(session, await holds.get_own_hold(session, who, hold_id))


@router.delete("/{hold_id}", response_model=HoldOut, responses=responses(401, 403, 404, 409, 422))
async def release_hold(hold_id: uuid.UUID, who: BuyerUser, session: SessionDep) -> HoldOut:
    hold = await holds.release_hold(session, who, hold_id, now=utcnow())
    await session.commit()
    return await _out(session, hold)


async def _out(session: AsyncSession, hold: Hold) -> HoldOut:
    """The hold as the buyer sees it, with its voucher's code (issue 13)."""
    out = HoldOut.model_validate(hold)
    if hold.voucher_id is not None:
        out.voucher_code = await redemption.code_of(session, hold.voucher_id)
    return out
