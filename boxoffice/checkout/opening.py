"""Opening an order: the buyer's holds checked and claimed, the order priced once and created with its lines and
its transaction, in the caller's transaction. The API runs the same checks (without claiming) before it starts a
checkout, so a bad request is refused at once and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from boxoffice import metrics
from boxoffice.checkout import drafts, pricing
from boxoffice.checkout.contract import CheckoutErrors as E
from boxoffice.checkout.contract import CheckoutInput, OpenOrderResult
from boxoffice.checkout.orders import CheckoutFailure, get_transaction, order_lines, payment_draft, summary
from boxoffice.errors import ValidationFailed
from boxoffice.inventory.holds import check_claimable
from boxoffice.models import Event, Hold, Order, OrderLine, TicketType, Transaction
from boxoffice.models.states import HoldStatus, PaymentStatus
from boxoffice.payments.base import payment_reference
from boxoffice.vouchers import redemption

ATTENDEES_MISMATCH = "AttendeesMismatch"  # the failure's type inside Temporal (open_order checks it again)
DRAFT_MISSING = "CheckoutDraftMissing"  # the buyer's details are gone (issue 11: they never travel in the run)


def hold_ids(inp: CheckoutInput) -> list[uuid.UUID]:
    """The checkout's hold ids: well-formed, distinct, at least one."""
    try:
        ids = [uuid.UUID(i) for i in inp.hold_ids]
    except ValueError:
        raise ValidationFailed("hold_ids must be hold ids", code="validation_error") from None
    if not ids or len(set(ids)) != len(ids):
        raise ValidationFailed("hold_ids must be distinct and non-empty", code="validation_error")
    return ids


async def _holds(session: AsyncSession, ids: list[uuid.UUID], *, lock: bool) -> dict[uuid.UUID, Hold]:
    stmt = select(Hold).where(col(Hold.id).in_(ids)).order_by(col(Hold.id))
    rows = await session.execute(stmt.with_for_update() if lock else stmt)
    return {h.id: h for h in rows.scalars()}


def _check(
    ids: list[uuid.UUID], found: dict[uuid.UUID, Hold], inp: CheckoutInput, now: datetime, attendees: int
) -> list[Hold]:
    """Every hold claimable by this order, all for one event, and ``attendees`` names fitting their seats; the holds
    in the order given."""
    for hid in ids:
        check_claimable(
            found.get(hid),
            hid,
            organization_id=inp.organization_id,
            user_id=inp.user_id,
            order_id=uuid.UUID(inp.order_id),
            now=now,
        )
    if len({found[i].event_id for i in ids}) != 1:
        raise CheckoutFailure(
            E.MIXED_EVENTS, "all holds of a checkout must be for one event", code="mixed_events", status=422
        )
    holds = [found[i] for i in ids]
    check_attendees(attendees, sum(h.quantity for h in holds))
    return holds


def check_attendees(attendees: int, tickets: int) -> None:
    """The attendee list names one person per ticket, in the order of the holds' seats, or is absent (empty):
    every ticket is then the buyer's. Any other length is refused (422 ``attendees_mismatch``), never trimmed."""
    if attendees and attendees != tickets:
        raise CheckoutFailure(
            ATTENDEES_MISMATCH,
            f"{attendees} attendees for {tickets} tickets: give one per ticket, or none",
            code="attendees_mismatch",
            status=422,
            tickets=tickets,
            attendees=attendees,
        )


async def precheck(
    session: AsyncSession, inp: CheckoutInput, now: datetime, *, attendees: int
) -> tuple[Event, pricing.Quote]:
    """What ``open_order`` would refuse, refused without changing anything: a hold's own problem first (not found,
    expired, taken, mixed events, ``attendees`` names that do not fit the seats), then a price problem. Returns the
    event and the quote."""
    ids = hold_ids(inp)
    holds = _check(ids, await _holds(session, ids, lock=False), inp, now, attendees)
    event, _types, quote = await _price(session, inp, holds)
    return event, quote


async def _claim_holds(session: AsyncSession, inp: CheckoutInput, now: datetime, attendees: int) -> list[Hold]:
    """Mark the buyer's active holds as owned by this order, so the expiry sweeper leaves them alone."""
    ids = hold_ids(inp)
    holds = _check(ids, await _holds(session, ids, lock=True), inp, now, attendees)
    await session.execute(
        update(Hold)
        .where(and_(col(Hold.id).in_(ids), col(Hold.status) == HoldStatus.ACTIVE, col(Hold.order_id).is_(None)))
        .values(order_id=uuid.UUID(inp.order_id))
        .execution_options(synchronize_session=False)
    )
    return holds


async def _price(
    session: AsyncSession, inp: CheckoutInput, holds: list[Hold]
) -> tuple[Event, list[TicketType], pricing.Quote]:
    """Price the given holds (in order): the event, each hold's ticket type, and the quote."""
    rows = (
        await session.execute(
            select(TicketType, Event)
            .join(Event, col(Event.id) == col(TicketType.event_id))
            .where(col(TicketType.id).in_({h.ticket_type_id for h in holds}))
        )
    ).all()
    types = {t.id: t for t, _event in rows}
    event = next(e for t, e in rows if t.id == holds[0].ticket_type_id)  # the first hold's (one event per checkout)
    vouchers = await redemption.terms(session, {h.voucher_id for h in holds if h.voucher_id is not None})
    items = [
        pricing.PricedItem(
            key=str(h.id),
            name=types[h.ticket_type_id].name,
            pricing_model=types[h.ticket_type_id].pricing_model,
            base_price_cents=types[h.ticket_type_id].base_price_cents,
            minimum_price_cents=types[h.ticket_type_id].minimum_price_cents,
            suggested_price_cents=types[h.ticket_type_id].suggested_price_cents,
            quantity=h.quantity,
            voucher=vouchers.get(h.voucher_id) if h.voucher_id is not None else None,  # issue 13
        )
        for h in holds
    ]
    q = pricing.quote(
        items,
        inp.unit_prices_cents,
        tip_cents=inp.tip_cents,
        fee_bps=event.service_fee_bps,
        fee_fixed_cents=event.service_fee_fixed_cents,
    )
    return event, [types[h.ticket_type_id] for h in holds], q


async def open_order(
    session: AsyncSession, inp: CheckoutInput, *, window_closes_at: datetime, now: datetime
) -> OpenOrderResult:
    """Claim the buyer's holds for the order and create it, with its lines and (unless free) its transaction,
    priced once, in the caller's transaction: the order exists exactly when its holds are claimed.

    The buyer's name and e-mail and the attendees come from the checkout's draft (``drafts``), which is deleted
    here: from now on they live in the order only. The order expires at the end of the payment window or at the
    earliest hold expiry, whichever comes first. A repeat (a retried step, or a replay after a crash) returns the
    same order.
    """
    oid = uuid.UUID(inp.order_id)
    buyer = await drafts.load(session, inp.order_id)
    holds = await _claim_holds(session, inp, now, len(buyer.attendees) if buyer else 0)
    if any(h.order_id == oid for h in holds):  # claimed by this order already: it was created with the claim
        existing = await session.get(Order, oid)
        if existing is not None:
            return await _reopened(session, existing)
    if buyer is None:
        raise CheckoutFailure(
            DRAFT_MISSING, "the buyer's details for this checkout are gone; start a new one", code="checkout_expired"
        )
    try:
        event, types, q = await _price(session, inp, holds)
    except ValidationFailed as exc:
        kind = E.PRICE_BELOW_MINIMUM if exc.code == "price_below_minimum" else E.INVALID_PRICE
        raise CheckoutFailure(kind, exc.detail, code=exc.code, status=422, **exc.extra) from None
    order = Order(
        id=oid,
        organization_id=inp.organization_id,
        event_id=event.id,
        user_id=inp.user_id,
        buyer_email=buyer.buyer_email,
        buyer_name=buyer.buyer_name,
        currency=event.currency,
        subtotal_cents=q.subtotal_cents,
        fee_cents=q.fee_cents,
        tip_cents=q.tip_cents,
        total_amount=q.total_amount,
        discount_cents=q.discount_cents,  # issue 13
        provider="none" if q.is_free else inp.provider,
        idempotency_key=inp.idempotency_key,
        request_hash=inp.request_hash,
        attendees=list(buyer.attendees),
        payment_status=PaymentStatus.NOT_REQUIRED if q.is_free else PaymentStatus.PENDING,
        expires_at=min(window_closes_at, *(h.expires_at for h in holds)),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.delete(buyer)  # issue 11: the buyer's details now live in the order only
    lines = [
        OrderLine(
            order_id=oid,
            hold_id=hold.id,
            ticket_type_id=tt.id,
            name=line.name,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            line_total_cents=line.line_total_cents,
            position=pos,
            voucher_id=hold.voucher_id,  # issue 13
            voucher_code=line.voucher_code,
            discount_cents=line.discount_cents,
        )
        for pos, (hold, tt, line) in enumerate(zip(holds, types, q.lines, strict=True))
    ]
    session.add_all(lines)
    txn = None
    if not q.is_free:
        txn = Transaction(
            order_id=oid,
            organization_id=inp.organization_id,
            provider=inp.provider,
            amount=q.total_amount,
            currency=event.currency,
            reference=payment_reference(inp.order_id),
        )
        session.add(txn)
    await session.flush()
    metrics.on_commit(session, metrics.CHECKOUTS_STARTED.labels(metrics.code(order.provider)).inc)  # a new order only
    draft = payment_draft(order, txn, event.name, lines) if txn is not None else None
    return OpenOrderResult(summary=summary(order, txn), payment=draft)


async def _reopened(session: AsyncSession, order: Order) -> OpenOrderResult:
    txn = await get_transaction(session, str(order.id))
    if txn is None:
        return OpenOrderResult(summary=summary(order, None))
    event = await session.get(Event, order.event_id)
    lines = await order_lines(session, order.id)
    return OpenOrderResult(
        summary=summary(order, txn), payment=payment_draft(order, txn, event.name if event else "Tickets", lines)
    )
