"""Seats that came back to a ticket type with buyers waiting: its waiting list is told once the transaction commits.

Whatever gives seats back (a hold released or expired, a checkout cancelled, a refund settled, a ticket voided, an
event cancelled) goes through ``inventory.holds.move_seats``, which keeps the seats the list wants in the same
statement and notes the ticket type in the session (``models.waitlist.mark_seats_kept``). After the commit, this
module signals that list's run (``seats_freed``, signal-with-start) from the process that committed: the API or a
worker. Nothing is signalled for a transaction that rolls back.

The signal is a hint, sent after the fact: should it be lost (the process dies right after the commit, Temporal is
unreachable), the seats stay kept for the list, and its run finds them at its next re-check
(``BOXOFFICE_WAITLIST_RECHECK_SECONDS``), or the sweep starts a run that does.

A process attaches a ``Notifier`` to its database (``attach``): the API in its lifespan, the worker when it builds
its workers. Sessions of a database nobody attached (a CLI command) tell nobody.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from temporalio.client import Client

from boxoffice.db import Database
from boxoffice.logging import get_logger
from boxoffice.models.waitlist import take_seats_kept
from boxoffice.waitlist.client import WaitlistRuns, tell
from boxoffice.waitlist.contract import SIGNAL_SEATS_FREED, ListChange

log = get_logger(__name__)


class Notifier:
    """Signals waiting lists from this process, in the background (a commit never waits for Temporal)."""

    def __init__(self, client: Callable[[], Awaitable[Client]], runs: WaitlistRuns) -> None:
        self.client, self.runs = client, runs
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, ticket_type_ids: set[uuid.UUID]) -> None:
        """Signal each list soon; called right after a commit, on the committing task's event loop."""
        try:
            task = asyncio.get_running_loop().create_task(self._send(sorted(ticket_type_ids)))
        except RuntimeError:  # no event loop (a synchronous caller): the lists' re-checks will find the seats
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, ticket_type_ids: list[uuid.UUID]) -> None:
        try:
            client = await self.client()
            for tt_id in ticket_type_ids:
                await tell(client, self.runs, str(tt_id), SIGNAL_SEATS_FREED, ListChange(source="seats_back"))
        except Exception as exc:  # the hint is lost; the seats stay kept and the re-check finds them
            log.warning("waiting list not told of seats that came back", error=str(exc))

    async def aclose(self) -> None:
        """Wait for the signals still being sent."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


_notifiers: WeakKeyDictionary[Any, Notifier] = WeakKeyDictionary()
N = TypeVar("N", bound=Notifier)


def attach(db: Database, notifier: N) -> N:
    """Make ``notifier`` tell the waiting lists of seats kept by transactions committed on ``db``."""
    _notifiers[db.engine.sync_engine] = notifier
    return notifier


def detach(db: Database, notifier: Notifier) -> None:
    """Stop ``notifier`` (if it is still the one attached to ``db``)."""
    if _notifiers.get(db.engine.sync_engine) is notifier:
        del _notifiers[db.engine.sync_engine]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    kept = take_seats_kept(session)
    if not kept:
        return
    notifier = _notifiers.get(session.get_bind())
    if notifier is not None:
        notifier.notify(kept)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: nothing came back
        take_seats_kept(session)
