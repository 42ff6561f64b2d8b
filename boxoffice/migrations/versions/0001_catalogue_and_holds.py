"""catalogue and holds

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:32:31.622588
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "organizations",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("venue", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("starts_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("service_fee_bps", sa.Integer(), nullable=False),
        sa.Column("service_fee_fixed_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "ticket_types",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.Column("pricing_model", sa.String(length=20), nullable=False),
        sa.Column("base_price_cents", sa.Integer(), nullable=False),
        sa.Column("minimum_price_cents", sa.Integer(), nullable=True),
        sa.Column("suggested_price_cents", sa.Integer(), nullable=True),
        sa.Column("max_per_order", sa.Integer(), nullable=True),
        sa.Column("sales_start", boxoffice.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sales_end", boxoffice.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 0", name="ck_ticket_types_capacity"),
        sa.CheckConstraint("held >= 0 AND sold >= 0 AND held + sold <= capacity", name="ck_ticket_types_inventory"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_types_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_types_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_holds_quantity"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index("ix_holds_status_expires_at", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_ticket_type_id"), ["ticket_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_user_id"), ["user_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_user_id"))
        batch_op.drop_index(batch_op.f("ix_holds_ticket_type_id"))
        batch_op.drop_index("ix_holds_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_holds_organization_id"))
        batch_op.drop_index(batch_op.f("ix_holds_order_id"))

    op.drop_table("holds")
    with op.batch_alter_table("ticket_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_types_organization_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_types_event_id"))

    op.drop_table("ticket_types")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_organization_id"))

    op.drop_table("events")
    op.drop_table("organizations")
