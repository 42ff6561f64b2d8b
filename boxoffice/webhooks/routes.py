"""Provider webhooks: verify the raw body's signature, record once, answer 200, deliver to the workflow."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from boxoffice.api.deps import DbDep, SettingsDep
from boxoffice.api.problems import responses
from boxoffice.errors import Unauthorized
from boxoffice.logging import get_logger
from boxoffice.payments.base import EventKind, InvalidSignature
from boxoffice.webhooks import inbox

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = get_logger(__name__)


class Receipt(BaseModel):
    """``duplicate``: recorded before; ``ignored``: authentic, of a kind we do not act on; ``queued``: recorded,
    delivered later by the relay; else how its delivery went (``delivered``, ``resolved``)."""

    status: Literal["duplicate", "ignored", "queued", "delivered", "resolved", "received"]


@router.post(
    "/{provider}",
    response_model=Receipt,
    responses=responses(401, 404, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
            "description": "The provider's event, signed over the raw body (see docs/providers.md)",
        }
    },
)
async def receive(provider: str, request: Request, db: DbDep, settings: SettingsDep) -> Receipt:
    """200 once the event is durably recorded; 401 for a bad signature (nothing recorded); a repeat is a no-op."""
    prov = request.app.state.providers.for_request(provider)
    body = await request.body()
    try:
        event = inbox.authenticate(prov, request.headers, body)  # counts a bad signature (issue 11)
    except InvalidSignature as exc:
        raise Unauthorized(f"webhook signature rejected: {exc}", code="invalid_signature") from None
    inbox_id = await inbox.record(db, event)
    if inbox_id is None:
        return Receipt(status="duplicate")
    if event.kind is EventKind.IGNORED:
        return Receipt(status="ignored")
    try:
        client = await request.app.state.temporal.get()
        status = await inbox.deliver(
            db,
            client,
            inbox_id,
            task_queue=settings.checkout_task_queue,
            poll_interval_seconds=settings.payment_poll_interval_seconds,
        )
    except Exception as exc:  # recorded: the relay delivers it later
        log.warning("webhook delivery deferred to the relay", provider=provider, error=repr(exc))
        await inbox.mark_failed_attempt(db, inbox_id, repr(exc))
        status = "queued"
    return Receipt(status=status)  # type: ignore[arg-type]
