"""An organiser's vouchers (issue 13): create one or a batch, list, read, change, deactivate. Buyers redeem a code
with ``POST /v1/holds`` (``voucher``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from boxoffice.api.deps import AdminUser, SessionDep
from boxoffice.api.problems import responses
from boxoffice.api.schemas import Offset, Text
from boxoffice.models.types import utcnow
from boxoffice.vouchers import rules
from boxoffice.vouchers.schemas import (
    VoucherBulkIn,
    VoucherBulkOut,
    VoucherIn,
    VoucherOut,
    VoucherPatch,
    VoucherTermsIn,
    voucher_out,
)

router = APIRouter(prefix="/v1", tags=["vouchers"])


def _terms(body: VoucherTermsIn) -> VoucherTermsIn:
    return VoucherTermsIn.model_validate(body.model_dump(include=set(VoucherTermsIn.model_fields)))


@router.post(
    "/events/{event_id}/vouchers",
    status_code=201,
    response_model=VoucherOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def create_voucher(event_id: uuid.UUID, body: VoucherIn, who: AdminUser, session: SessionDep) -> VoucherOut:
    codes = [body.code] if body.code else None
    (voucher,) = await rules.create_vouchers(session, who, event_id, _terms(body), codes=codes, now=utcnow())
    await session.commit()
    return voucher_out(voucher)


@router.post(
    "/events/{event_id}/vouchers/bulk",
    status_code=201,
    response_model=VoucherBulkOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def create_vouchers_in_bulk(
    event_id: uuid.UUID, body: VoucherBulkIn, who: AdminUser, session: SessionDep
) -> VoucherBulkOut:
    made = await rules.create_vouchers(
        session, who, event_id, _terms(body), count=body.count, prefix=body.prefix, now=utcnow()
    )
    await session.commit()
    return VoucherBulkOut(count=len(made), vouchers=[voucher_out(v) for v in made])


@router.get("/events/{event_id}/vouchers", response_model=list[VoucherOut], responses=responses(401, 403, 404, 422))
async def list_vouchers(
    event_id: uuid.UUID,
    who: AdminUser,
    session: SessionDep,
    tag: Annotated[Text | None, Query(max_length=100)] = None,
    code: Annotated[Text | None, Query(max_length=64, description="codes starting so (any case)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[VoucherOut]:
    found = await rules.list_vouchers(session, who, event_id, tag=tag, code=code, limit=limit, offset=offset)
    return [voucher_out(v) for v in found]


@router.get("/vouchers/{voucher_id}", response_model=VoucherOut, responses=responses(401, 403, 404, 422))
async def get_voucher(voucher_id: uuid.UUID, who: AdminUser, session: SessionDep) -> VoucherOut:
    return voucher_out(await rules.get_voucher(session, who, voucher_id))


@router.patch("/vouchers/{voucher_id}", response_model=VoucherOut, responses=responses(401, 403, 404, 409, 422))
async def update_voucher(voucher_id: uuid.UUID, body: VoucherPatch, who: AdminUser, session: SessionDep) -> VoucherOut:
    changes = body.model_dump(exclude_unset=True)
    voucher = await rules.update_voucher(session, who, voucher_id, changes, now=utcnow())
    await session.commit()
    return voucher_out(voucher)


@router.post("/vouchers/{voucher_id}/deactivate", response_model=VoucherOut, responses=responses(401, 403, 404, 422))
async def deactivate_voucher(voucher_id: uuid.UUID, who: AdminUser, session: SessionDep) -> VoucherOut:
    """Nobody can redeem it any more and its reserved seats go back on sale; holds and orders that redeemed it
    keep their seats and prices. ``PATCH`` with ``active: true`` turns it back on."""
    voucher = await rules.update_voucher(session, who, voucher_id, {"active": False}, now=utcnow())
    await session.commit()
    return voucher_out(voucher)
