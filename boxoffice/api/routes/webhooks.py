"""Provider webhooks: verify the raw body's signature, record once, answer 200, deliver to the workflow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from boxoffice import inbox
from boxoffice.api.deps import DbDep, SettingsDep
from boxoffice.errors import Unauthorized
from boxoffice.logging import get_logger
from boxoffice.payments.base import EventKind, InvalidSignature

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = get_logger(__name__)


@router.post("/{provider}")
async def receive(provider: str, request: Request, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """200 once the event is durably recorded; 401 for a bad signature (nothing recorded); a repeat is a no-op."""
    prov = request.app.state.providers.for_request(provider)
    body = await request.body()
    try:
        event = prov.parse_webhook(request.headers, body)
    except InvalidSignature as exc:
        raise Unauthorized(f"webhook signature rejected: {exc}", code="invalid_signature") from None
    inbox_id = await inbox.record(db, event)
    if inbox_id is None:
        return {"status": "duplicate"}
    if event.kind is EventKind.IGNORED:
        return {"status": "ignored"}
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
    return {"status": status}
