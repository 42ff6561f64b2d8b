"""Ticket transfers: ``POST /v1/tickets/{ticket_id}/transfer``. The transfer is committed first, then both parties'
messages are started; should that fail, the transfer stands and repeating the request starts them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from boxoffice.api.deps import CurrentUser, DbDep, SessionDep, SettingsDep
from boxoffice.api.problems import responses
from boxoffice.fulfilment.contract import message_workflow_id
from boxoffice.logging import get_logger
from boxoffice.models.types import utcnow
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.transfers import rules
from boxoffice.transfers.client import notify_transfer, transfer_messages
from boxoffice.transfers.schemas import NewTicketOut, TransferIn, TransferOut

log = get_logger(__name__)
router = APIRouter(tags=["transfers"])


@router.post(
    "/v1/tickets/{ticket_id}/transfer",
    status_code=201,
    response_model=TransferOut,
    responses={
        200: {"model": TransferOut, "description": "Transferred before, to the same person"},
        **responses(401, 404, 409, 422),
    },
)
async def transfer_ticket(
    ticket_id: uuid.UUID,
    body: TransferIn,
    who: CurrentUser,
    session: SessionDep,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> TransferOut:
    """Give the ticket to another person: the buyer (their own ticket, until the event starts) or an organiser
    (until it ends). The old ticket is revoked at every gate; a new one (new code and signature) is issued to
    ``name`` <``email``> and e-mailed to them, and the buyer is told. Seats and money are untouched."""
    now = utcnow()
    issuer = KeyedTicketIssuer(request.app.state.keyring)
    done = await rules.transfer_ticket(
        session, who, ticket_id, name=body.name, email=body.email, issuer=issuer, now=now
    )
    await session.commit()
    if not done.created:
        response.status_code = 200
    transfer = done.transfer
    started = transfer.notified_at is not None
    workflow_ids = [message_workflow_id(m.kind, m.key) for m in transfer_messages(transfer)]
    if not started:
        try:
            client = await request.app.state.temporal.get()
            workflow_ids = await notify_transfer(
                client, db, transfer, task_queue=settings.documents_task_queue, now=now
            )
            started = True
        except Exception as exc:  # the transfer stands; repeating the request starts the messages
            log.warning("transfer messages not started", ticket_id=str(ticket_id), error=str(exc))
    return TransferOut(
        transfer_id=transfer.id,
        ticket_id=transfer.from_ticket_id,
        new_ticket=NewTicketOut(id=done.ticket.id, ticket_code=done.ticket.ticket_code, status=done.ticket.status),
        attendee_name=done.attendee.name,
        attendee_email=done.attendee.email,
        transferred_by=transfer.transferred_by,
        transferred_at=transfer.created_at,
        messages_started=started,
        message_workflow_ids=workflow_ids,
    )
