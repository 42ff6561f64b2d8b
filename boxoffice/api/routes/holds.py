"""Seat holds."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from boxoffice.api.deps import BuyerUser, SessionDep, SettingsDep
from boxoffice.api.schemas import HoldIn, HoldOut
from boxoffice.models.types import utcnow
from boxoffice.services import holds

router = APIRouter(prefix="/v1/holds", tags=["holds"])


@router.post("", status_code=201, response_model=HoldOut)
async def create_hold(body: HoldIn, who: BuyerUser, session: SessionDep, settings: SettingsDep) -> HoldOut:
    hold = await holds.create_hold(
        session, who, body.ticket_type_id, body.quantity, ttl_seconds=settings.hold_ttl_seconds, now=utcnow()
    )
    await session.commit()
    return HoldOut.model_validate(hold)


@router.get("/{hold_id}", response_model=HoldOut)
async def get_hold(hold_id: uuid.UUID, who: BuyerUser, session: SessionDep) -> HoldOut:
    return HoldOut.model_validate(await holds.get_own_hold(session, who, hold_id))


@router.delete("/{hold_id}", response_model=HoldOut)
async def release_hold(hold_id: uuid.UUID, who: BuyerUser, session: SessionDep) -> HoldOut:
    hold = await holds.release_hold(session, who, hold_id, now=utcnow())
    await session.commit()
    return HoldOut.model_validate(hold)
