"""waiting lists and ticket transfers (issue 13)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:00:00

``waitlist_entries`` is each ticket type's line of buyers (one live entry per buyer and type: a partial unique
index, on both databases); ``ticket_types.waitlist_waiting`` is the seats its waiting entries want and
``ticket_types.waitlist_reserved`` the free seats kept for them. ``ticket_transfers`` records each ticket given to
another person, and ``tickets.replaced_by_id`` points a transferred (voided) ticket at its replacement.

Added columns are nullable or have a constant default, so SQLite adds them with a plain ``ALTER TABLE … ADD
COLUMN`` (no table rebuild); the CHECK that keeps the seats kept for a list within what it wants is added on
PostgreSQL, where a constraint can be added to an existing table (SQLite keeps the rule in the statements). That
kept seats are free seats is the statements' rule and ``boxoffice check``'s, not a constraint: an organiser's
capacity cut or a voucher's reservation may take them (the list's next step keeps what is left).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = boxoffice.models.types.UTCDateTime(timezone=True)
LIVE = "status IN ('waiting', 'offered')"
WAITLIST_CHECK = "waitlist_reserved >= 0 AND waitlist_reserved <= waitlist_waiting"


def upgrade() -> None:
    op.add_column("ticket_types", sa.Column("waitlist_waiting", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ticket_types", sa.Column("waitlist_reserved", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("tickets", sa.Column("replaced_by_id", sa.Uuid(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("ck_ticket_types_waitlist", "ticket_types", WAITLIST_CHECK)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=True),
        sa.Column("offered_at", UTC_DATETIME, nullable=True),
        sa.Column("offer_expires_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_waitlist_entries_quantity"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_types.id"]),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_type_id", "position", name="uq_waitlist_entries_position"),
    )
    op.create_index("ix_waitlist_entries_user_id", "waitlist_entries", ["user_id"])
    op.create_index("ix_waitlist_entries_line", "waitlist_entries", ["ticket_type_id", "status", "position"])
    op.create_index(
        "uq_waitlist_entries_live_buyer",
        "waitlist_entries",
        ["ticket_type_id", "user_id"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )

    op.create_table(
        "ticket_transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("from_ticket_id", sa.Uuid(), nullable=False),
        sa.Column("to_ticket_id", sa.Uuid(), nullable=False),
        sa.Column("to_attendee_id", sa.Uuid(), nullable=False),
        sa.Column("transferred_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("notified_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["from_ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["to_ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["to_attendee_id"], ["attendees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_ticket_id"),
        sa.UniqueConstraint("to_ticket_id"),
    )
    op.create_index("ix_ticket_transfers_order_id", "ticket_transfers", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_transfers_order_id", table_name="ticket_transfers")
    op.drop_table("ticket_transfers")
    op.drop_index("uq_waitlist_entries_live_buyer", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_line", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_user_id", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_ticket_types_waitlist", "ticket_types", type_="check")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("replaced_by_id")
    with op.batch_alter_table("ticket_types") as batch:
        batch.drop_column("waitlist_reserved")
        batch.drop_column("waitlist_waiting")
