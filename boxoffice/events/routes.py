"""An event after its tickets are sold (issue 13): ``PATCH /v1/events/{id}`` (an edit follows to the tickets),
``POST /v1/events/{id}/cancel`` (sales stop at once; every paid order is refunded by a run) and its progress."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from boxoffice.api.deps import AdminUser, SessionDep, SettingsDep, TemporalClientDep
from boxoffice.api.problems import responses
from boxoffice.catalogue import rules
from boxoffice.catalogue.rules import FOLLOW_TO_TICKETS
from boxoffice.catalogue.schemas import EventOut, EventPatch
from boxoffice.errors import ServiceUnavailable
from boxoffice.events import cancellation
from boxoffice.events.client import cancellation_progress, pace_of, start_cancellation, start_change
from boxoffice.events.contract import CancellationProgress, cancellation_workflow_id, change_workflow_id
from boxoffice.events.schemas import CancelIn, CancellationOut
from boxoffice.models import Event
from boxoffice.models.types import utcnow

router = APIRouter(prefix="/v1", tags=["events"])


@router.patch("/events/{event_id}", response_model=EventOut, responses=responses(401, 403, 404, 409, 422, 503))
async def update_event(
    event_id: uuid.UUID,
    body: EventPatch,
    who: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
) -> EventOut:
    """Change what can change safely. A new name, venue, time zone or times re-issue the tickets (new validity: the
    event's end plus seven days, same ids and codes) and send each buyer the new PDF, from a run at a bounded rate.
    A repeat of the same edit starts nothing more (and starts the run should the first request have failed to)."""
    changes = body.model_dump(exclude_unset=True)
    event = await rules.update_event(session, who.org_id, event_id, changes, now=utcnow())
    out = EventOut.model_validate(event)
    await session.commit()
    if event.revision and any(f in changes for f in FOLLOW_TO_TICKETS):
        try:
            await start_change(client, event, pace_of(settings), task_queue=settings.checkout_task_queue)
        except Exception as exc:
            raise ServiceUnavailable(
                "the edit is saved but its tickets could not be re-issued yet; repeat the request to do it",
                code="event_change_not_started",
                workflow_id=change_workflow_id(str(event.id), event.revision),
            ) from exc
    return out


@router.post(
    "/events/{event_id}/cancel",
    status_code=202,
    response_model=CancellationOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
async def cancel_event(
    event_id: uuid.UUID,
    body: CancelIn,
    who: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
) -> CancellationOut:
    """Stop sales at once and start the ``EventCancellationWorkflow``: checkouts in progress stopped, every paid
    order refunded through the refund flow at a bounded rate, free tickets voided, one cancellation e-mail per
    order. A repeat answers the same cancellation (and starts its run should the first request have failed to)."""
    event = await cancellation.cancel_event(
        session, who.org_id, event_id, reason=body.reason, by=who.user_id, now=utcnow()
    )
    await session.commit()
    try:
        await start_cancellation(client, event, pace_of(settings), task_queue=settings.checkout_task_queue)
    except Exception as exc:
        raise ServiceUnavailable(
            "sales are stopped but the refunds could not start yet; repeat the request to start them",
            code="cancellation_not_started",
            workflow_id=cancellation_workflow_id(str(event.id)),
        ) from exc
    return _out(event, CancellationProgress(event_id=str(event.id)), running=True)


@router.get("/events/{event_id}/cancellation", response_model=CancellationOut, responses=responses(401, 403, 404, 422))
async def get_cancellation(
    event_id: uuid.UUID, who: AdminUser, session: SessionDep, client: TemporalClientDep
) -> CancellationOut:
    """The cancellation's progress: its run's ``progress`` query (its result once done); counted from the database
    when the run cannot answer."""
    event = await rules.get_event(session, who.org_id, event_id)
    if event.cancelled_at is None:
        return _out(event, CancellationProgress(event_id=str(event.id), state="scheduled"), running=False)
    progress = await cancellation_progress(client, str(event.id))
    if progress is None:
        tally = await cancellation.tally(session, event.id)
        progress = CancellationProgress(
            event_id=str(event.id),
            state="unknown",
            total=tally.total,
            done=tally.done,
            failed=tally.failed,
            refunds_started=tally.refunds,
            refunds_settled=tally.refunded,
            orders_voided=tally.voided_orders,
        )
    return _out(event, progress, running=progress.state != "done")


def _out(event: Event, progress: CancellationProgress, *, running: bool) -> CancellationOut:
    cancelled_at = event.cancelled_at
    status: Literal["scheduled", "cancelling", "cancelled"] = "scheduled"
    if cancelled_at is not None:
        status = "cancelling" if running else "cancelled"
    return CancellationOut(
        event_id=uuid.UUID(progress.event_id),
        status=status,
        cancelled_at=cancelled_at,
        reason=event.cancellation_reason,
        workflow_id=None if cancelled_at is None else cancellation_workflow_id(progress.event_id),
        state=progress.state,
        total=progress.total,
        done=progress.done,
        failed=progress.failed,
        refunds_started=progress.refunds_started,
        refunds_settled=progress.refunds_settled,
        orders_voided=progress.orders_voided,
        deferred=progress.deferred,
        checkouts_stopped=progress.checkouts_stopped,
    )
