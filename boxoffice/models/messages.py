"""Messages sent to buyers: one sent-marker per cause, so a retried send step never sends a message twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from boxoffice.models.types import UTCDateTime, utcnow


class SentMessage(SQLModel, table=True):
    """A message that was handed to the mail server (or written to the outbox) for ``cause``.

    ``cause`` is ``kind:key`` (``confirmation:{order_id}``, ``refund:{refund_id}``, …; see
    ``boxoffice.messaging.causes``); its primary key makes recording the same cause twice a no-op.
    """

    __tablename__ = "sent_messages"

    cause: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=32)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    message_id: str = Field(max_length=255)
    recipient: str = Field(max_length=320)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
