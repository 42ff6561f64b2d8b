"""An order's tickets as a PDF: what each page shows, read from the database, and the renderer process."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from sqlalchemy import select, true
from sqlmodel import col

from boxoffice.db import Database
from boxoffice.models import Attendee, Event, Order, OrderLine, Ticket, TicketType
from boxoffice.money import format_money

if TYPE_CHECKING:  # WeasyPrint loads only where PDFs are rendered
    from boxoffice.fulfilment.revoked import TicketPage


def pdf_key(order_id: str) -> str:
    return f"orders/{order_id}/tickets.pdf"


async def order_pages(
    db: Database, order_id: str, locale: str = "en", only: Sequence[str] = ()
) -> tuple[Order, list[TicketPage]]:
    """The order and one page per ticket (whatever its status), in a stable order; prices in ``locale``."""
    from boxoffice.fulfilment.revoked import TicketPage
    from boxoffice.ticketing.pdf import TicketDocument

    async with db.session() as session:
        order = await session.get(Order, uuid.UUID(order_id))
        assert order is not None
        event = await session.get(Event, order.event_id)
        assert event is not None
        rows = (
            await session.execute(
                select(Ticket, col(TicketType.name), col(Attendee.name), col(OrderLine.voucher_code))
                .join(TicketType, col(TicketType.id) == col(Ticket.ticket_type_id))
                .join(OrderLine, col(OrderLine.id) == col(Ticket.order_line_id))
                .outerjoin(Attendee, col(Attendee.id) == col(Ticket.attendee_id))
                .where(col(Ticket.order_id) == order.id)
                .where(col(Ticket.id).in_([uuid.UUID(t) for t in only]) if only else true())  # issue 13: some
                .order_by(col(Ticket.order_line_id), col(Ticket.index_in_line))
            )
        ).all()
    pages = [
        TicketPage(
            TicketDocument(
                ticket_code=t.ticket_code,
                qr_payload=t.qr_payload,
                event_name=event.name,
                venue=event.venue or "",
                starts_at=event.starts_at,
                timezone=event.timezone,
                ticket_type_name=tt_name,
                attendee_name=att_name or order.buyer_name,
                order_id=str(order.id),
                price_display=_price(format_money(t.price_cents, order.currency, locale), voucher_code),
            ),
            t.status,
        )
        for t, tt_name, att_name, voucher_code in rows
    ]
    return order, pages


def _price(price: str, voucher_code: str | None) -> str:
    """The printed price, with the voucher that gave it (issue 13)."""
    return f"{price} (voucher {voucher_code})" if voucher_code else price


def _render_pages(pages: list[TicketPage]) -> bytes:
    """WeasyPrint, mostly font subsetting: ~20 ms of CPU per PDF with HarfBuzz, holding the GIL throughout."""
    from boxoffice.fulfilment.revoked import render_order_pdf

    return render_order_pdf(pages)


# The renderer: one child process per worker process, shared by its DocumentActivities, so the PDF work never
# holds the GIL of the process that runs the checkout workflows. Started on first use (or ``start()``), stopped
# when the last DocumentActivities that used it is closed (else at interpreter exit).
RENDER_PROCESSES = 1
# Rendering yields the CPU to checkouts: a buyer waits on the payment page, a ticket e-mail can wait a moment.
RENDER_NICENESS = 10
_renderer_lock = threading.Lock()
_renderer: ProcessPoolExecutor | None = None
_renderer_users = 0


def _start_renderer(parent_pid: int, niceness: int) -> None:
    """In the renderer process, once: lower its priority, exit with its parent (even a SIGKILLed one), and
    import WeasyPrint before the first order needs it."""
    import time

    if niceness:
        os.nice(niceness)

    def exit_with_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()
    import weasyprint  # noqa: F401

    import boxoffice.fulfilment.revoked
    import boxoffice.ticketing.pdf  # noqa: F401


async def render_pdf(
    db: Database, order_id: str, executor: Executor | None = None, *, locale: str = "en", only: Sequence[str] = ()
) -> bytes | None:
    """The order's tickets (``only`` those, when given) as one PDF (revoked ones marked), rendered on ``executor``
    (a thread of this process if None); None when the order has no tickets."""
    _order, pages = await order_pages(db, order_id, locale, only)
    if not pages:
        return None
    if executor is None:
        return await asyncio.to_thread(_render_pages, pages)
    return await asyncio.get_running_loop().run_in_executor(executor, _render_pages, pages)


class RendererLease:
    """A user's lease on the process-wide renderer: the renderer starts on first use (or ``start()``) and stops when
    the last lease that used it is closed (else at interpreter exit)."""

    def __init__(self) -> None:
        self._uses_renderer = False

    def pool(self) -> ProcessPoolExecutor:
        global _renderer, _renderer_users
        with _renderer_lock:
            if not self._uses_renderer:
                self._uses_renderer = True
                _renderer_users += 1
            if _renderer is None:
                # 'spawn': a fresh interpreter, nothing inherited from this process's threads or event loop.
                _renderer = ProcessPoolExecutor(
                    max_workers=RENDER_PROCESSES,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_renderer,
                    initargs=(os.getpid(), RENDER_NICENESS),
                )
            return _renderer

    def start(self) -> None:
        """Start the renderer process now (it imports WeasyPrint in the background) rather than on first use."""
        self.pool().submit(int)  # a no-op: a process pool starts its processes with its first task

    def close(self) -> None:
        """This instance no longer renders; the last one to close stops the renderer (a render in flight ends first)."""
        global _renderer, _renderer_users
        with _renderer_lock:
            if not self._uses_renderer:
                return
            self._uses_renderer = False
            _renderer_users -= 1
            pool = _renderer if _renderer_users == 0 else None
            if pool is not None:
                _renderer = None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def render(self, db: Database, order_id: str, locale: str = "en", only: Sequence[str] = ()) -> bytes | None:
        """The order's PDF from the shared renderer process (None: no tickets); a dead renderer is replaced on the
        next call."""
        global _renderer
        pool = self.pool()
        try:
            return await render_pdf(db, order_id, pool, locale=locale, only=only)
        except BrokenProcessPool:
            # The renderer process died (killed, out of memory): the activity's next attempt starts a new one.
            with _renderer_lock:
                if _renderer is pool:
                    _renderer = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise
