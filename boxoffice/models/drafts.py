"""What a buyer typed for a checkout, kept out of its workflow's history (issue 11).

The API writes the buyer's name and e-mail and the attendees here, keyed by the order id, before it starts the
checkout run; the run carries only the order id, and its first step (``open_order``) moves them into the order in
the same transaction that creates it, deleting the draft. A checkout that fails before that deletes it as it
unwinds (``cancel_order``). So no buyer's name or address ever travels through Temporal.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from boxoffice.models.types import UTCDateTime, utcnow


class CheckoutDraft(SQLModel, table=True):
    __tablename__ = "checkout_drafts"

    order_id: uuid.UUID = Field(primary_key=True)
    buyer_email: str = Field(max_length=320)
    buyer_name: str = Field(max_length=200)
    # [{"name": …, "email": …}] in the order of the holds' seats, or empty (every ticket is the buyer's)
    attendees: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
