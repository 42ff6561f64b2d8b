"""delivery: a sent-marker per message cause, and orders found by buyer e-mail

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

``sent_messages`` records each message handed to the mail server, keyed by its cause (``confirmation:{order_id}``,
``refund:{refund_id}``, …), so a retried send step never sends a cause twice. ``ix_orders_org_buyer_email``
serves ``GET /v1/orders?email=`` (case-insensitive, within an organisation: an index on ``lower(buyer_email)`` on
PostgreSQL, the organisation prefix on SQLite).
``attendees.updated_at`` marks a buyer's correction of an attendee (each one re-issues the order's PDF once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_messages",
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("sent_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("cause"),
    )
    op.create_index("ix_sent_messages_order_id", "sent_messages", ["order_id"])
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's batch mode cannot reflect an expression index, so every later table rebuild would warn about (and
        # drop) it; the organisation prefix is index enough for the small databases of ``make run``.
        op.create_index("ix_orders_org_buyer_email", "orders", ["organization_id", "buyer_email"])
    else:
        op.create_index("ix_orders_org_buyer_email", "orders", ["organization_id", sa.text("lower(buyer_email)")])
    # A nullable column: a plain ALTER TABLE … ADD COLUMN on both databases (no SQLite table rebuild needed).
    op.add_column(
        "attendees", sa.Column("updated_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("attendees") as batch:
        batch.drop_column("updated_at")
    op.drop_index("ix_orders_org_buyer_email", table_name="orders")
    op.drop_index("ix_sent_messages_order_id", table_name="sent_messages")
    op.drop_table("sent_messages")
