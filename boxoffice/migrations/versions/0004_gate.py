"""the gate: scans, voids, check-in policies, and each ticket's signing key, validity and admission

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00

Existing tickets get their signing key id and validity end from their stored payload (decoded, not verified: it
is our own), or, for a payload that is not a BX2 one, the event's end plus seven days and no key; a ticket
already scanned gets its first gate from its last one (the only gate known).
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types
from boxoffice.ticketing.tokens import TicketVerificationError, decode_payload, validity_end

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = boxoffice.models.types.UTCDateTime(timezone=True)
BATCH = 1000


def _backfill_tickets() -> None:
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Uuid()),
        sa.column("event_id", sa.Uuid()),
        sa.column("qr_payload", sa.Text()),
        sa.column("signing_kid", sa.String()),
        sa.column("valid_until", UTC_DATETIME),
        sa.column("scanned_at", UTC_DATETIME),
        sa.column("last_gate_id", sa.String()),
        sa.column("first_gate_id", sa.String()),
        sa.column("last_scanned_at", UTC_DATETIME),
    )
    events = sa.table("events", sa.column("id", sa.Uuid()), sa.column("ends_at", UTC_DATETIME))
    conn = op.get_bind()
    # A batch at a time: each backfilled ticket gets a validity end, so it leaves the next batch's query.
    pending = (
        sa.select(tickets.c.id, tickets.c.qr_payload, tickets.c.scanned_at, tickets.c.last_gate_id, events.c.ends_at)
        .join(events, events.c.id == tickets.c.event_id)
        .where(tickets.c.valid_until.is_(None))
        .order_by(tickets.c.id)
        .limit(BATCH)
    )
    update = (
        sa.update(tickets)
        .where(tickets.c.id == sa.bindparam("b_id"))
        .values(
            signing_kid=sa.bindparam("b_kid"),
            valid_until=sa.bindparam("b_valid_until", type_=UTC_DATETIME),
            first_gate_id=sa.bindparam("b_first_gate"),
            last_scanned_at=sa.bindparam("b_last_scanned", type_=UTC_DATETIME),
        )
    )
    while rows := conn.execute(pending).all():
        conn.execute(update, [_backfilled(*row) for row in rows])


def _backfilled(
    ticket_id: object, payload: str, scanned_at: object, last_gate: str | None, ends_at: datetime
) -> dict[str, object]:
    """The backfilled columns of one ticket, as the update's parameters."""
    try:
        decoded = decode_payload(payload)
        kid, valid_until = decoded.kid, decoded.valid_until
    except TicketVerificationError:  # a payload from before BX2: it verifies nowhere any more
        kid, valid_until = None, validity_end(ends_at)
    return {
        "b_id": ticket_id,
        "b_kid": kid,
        "b_valid_until": valid_until,
        "b_first_gate": last_gate if scanned_at is not None else None,
        "b_last_scanned": scanned_at,
    }


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("checkin_policy", sa.String(length=16), nullable=False, server_default="single_entry")
        )
    with op.batch_alter_table("ticket_types") as batch:
        batch.add_column(sa.Column("checkin_policy", sa.String(length=16), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("signing_kid", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch.add_column(sa.Column("valid_until", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("first_gate_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("last_scanned_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("inside", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_tickets_signing_kid_valid_until", ["signing_kid", "valid_until"], unique=False)
        batch.create_index("ix_tickets_status_event", ["status", "event_id"], unique=False)
    _backfill_tickets()

    op.create_table(
        "scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("gate_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.Column("scanner_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("scanned_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scans") as batch:
        batch.create_index("ix_scans_event_scanned_at", ["event_id", "scanned_at"], unique=False)
        batch.create_index("ix_scans_ticket_scanned_at", ["ticket_id", "scanned_at"], unique=False)

    op.create_table(
        "ticket_voids",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("voided_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("voided_at", UTC_DATETIME, nullable=False),
        sa.Column("notified_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("ticket_voids") as batch:
        batch.create_index("ix_ticket_voids_unnotified", ["notified_at"], unique=False)


def downgrade() -> None:
    op.drop_table("ticket_voids")
    op.drop_table("scans")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_status_event")
        batch.drop_index("ix_tickets_signing_kid_valid_until")
        for column in ("inside", "last_scanned_at", "first_gate_id", "valid_until", "signing_kid"):
            batch.drop_column(column)
    with op.batch_alter_table("ticket_types") as batch:
        batch.drop_column("checkin_policy")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("checkin_policy")
