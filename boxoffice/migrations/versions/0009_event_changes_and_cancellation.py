"""after the sale (issue 13): editing and cancelling events, and the buyer's refund policy

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00

``events`` gains its cancellation (``cancelled_at``: sales stop at that moment, in the hold's own statement;
who cancelled it and the words buyers are sent), a ``revision`` counted up by every edit buyers are told about
(the change's message cause carries it), and the refund policy a buyer's own cancellation follows: until when
(a moment, or hours before the start) and the fee kept (fixed part plus basis points of the tickets' prices).
``refunds.fee_kept_cents`` is what a buyer's cancellation kept of the tickets' prices (it stays revenue).
``ix_orders_event_status`` serves the cancellation's paging through an event's orders.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = boxoffice.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("cancelled_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("cancelled_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch.add_column(sa.Column("cancellation_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("refund_cancel_until", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("refund_cancel_hours_before_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("refund_fee_fixed_cents", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("refund_fee_bps", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("fee_kept_cents", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_orders_event_status", "orders", ["event_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_orders_event_status", table_name="orders")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("fee_kept_cents")
    with op.batch_alter_table("events") as batch:
        for column in (
            "refund_fee_bps",
            "refund_fee_fixed_cents",
            "refund_cancel_hours_before_start",
            "refund_cancel_until",
            "revision",
            "cancellation_reason",
            "cancelled_by",
            "cancelled_at",
        ):
            batch.drop_column(column)
