"""Recent answers per gate, ticket and direction: the replay window's cache, in process.

The same gate re-reading a ticket within the window gets the same answer again (an ``admitted`` stays
``admitted``, with the same count) without a new entry counted. The database stays the truth: a cached answer is
served only through :func:`boxoffice.gate.admission.record_if_unchanged`, which records the attempt only while the
ticket is exactly as the answer left it, and the scan service decides the same from the database alone when no
cache has the answer (another API replica, a restarted process).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

Answer = TypeVar("Answer")
Key = tuple[str, uuid.UUID, str, str, uuid.UUID]  # organisation, event, gate, direction, ticket


@dataclass(frozen=True)
class Recent(Generic[Answer]):
    answer: Answer
    fingerprint: tuple[str, int, bool]
    at: datetime


class RecentScans(Generic[Answer]):
    """At most ``size`` answers (the least recently used go first), each good for ``window`` after it was given.
    ``size`` 0 keeps nothing. One process, one event loop: no locking needed."""

    def __init__(self, size: int, window: timedelta) -> None:
        self.size, self.window = size, window
        self._items: OrderedDict[Key, Recent[Answer]] = OrderedDict()

    def get(self, key: Key, now: datetime) -> Recent[Answer] | None:
        """The answer given for ``key`` within the window before ``now``, if any."""
        found = self._items.get(key)
        if found is None:
            return None
        if not found.at <= now <= found.at + self.window:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return found

    def put(self, key: Key, answer: Answer, fingerprint: tuple[str, int, bool], at: datetime) -> None:
        if self.size <= 0:
            return
        self._items[key] = Recent(answer, fingerprint, at)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, key: Key) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
