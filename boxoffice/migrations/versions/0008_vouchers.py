"""vouchers (issue 13): discount codes, their uses, and seats reserved for their holders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00

``vouchers`` holds each code with its discount, validity window, ``max_uses`` and ``uses`` (a CHECK keeps
``uses + reserved ≤ max_uses``), and the seats it reserves. ``ticket_types.reserved`` counts the seats reserved
for voucher holders inside the capacity. A hold and an order line record the voucher they redeemed; an order
line and its order record what the voucher took off. Added columns are nullable or have a constant default, so
SQLite adds them with a plain ``ALTER TABLE … ADD COLUMN`` (no table rebuild); their foreign keys and the CHECK on
``ticket_types.reserved`` are added on PostgreSQL, where a constraint can be added to an existing table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = boxoffice.models.types.UTCDateTime(timezone=True)
FOREIGN_KEYS = (  # (name, table, column) → vouchers.id
    ("fk_holds_voucher_id_vouchers", "holds", "voucher_id"),
    ("fk_order_lines_voucher_id_vouchers", "order_lines", "voucher_id"),
)


def upgrade() -> None:
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("reserve_seats", sa.Boolean(), nullable=False),
        sa.Column("reserving", sa.Boolean(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("valid_from", UTC_DATETIME, nullable=True),
        sa.Column("valid_until", UTC_DATETIME, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "max_uses >= 1 AND uses >= 0 AND reserved >= 0 AND uses + reserved <= max_uses", name="ck_vouchers_uses"
        ),
        sa.CheckConstraint(
            "kind IN ('percentage', 'amount_off', 'fixed_price', 'free') AND value >= 0 "
            "AND (kind <> 'percentage' OR value <= 10000)",
            name="ck_vouchers_discount",
        ),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_types.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "code", name="uq_vouchers_event_code"),
    )
    op.create_index("ix_vouchers_organization_id", "vouchers", ["organization_id"])
    op.create_index("ix_vouchers_event_tag", "vouchers", ["event_id", "tag"])
    op.create_index("ix_vouchers_reserving_valid_until", "vouchers", ["reserving", "valid_until"])

    op.add_column("ticket_types", sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("holds", sa.Column("voucher_id", sa.Uuid(), nullable=True))
    op.add_column("order_lines", sa.Column("voucher_id", sa.Uuid(), nullable=True))
    op.add_column("order_lines", sa.Column("voucher_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("order_lines", sa.Column("discount_cents", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("orders", sa.Column("discount_cents", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("ck_ticket_types_reserved", "ticket_types", "reserved >= 0")
        for name, table, column in FOREIGN_KEYS:
            op.create_foreign_key(name, table, "vouchers", [column], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _column in FOREIGN_KEYS:
            op.drop_constraint(name, table, type_="foreignkey")
        op.drop_constraint("ck_ticket_types_reserved", "ticket_types", type_="check")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("discount_cents")
    with op.batch_alter_table("order_lines") as batch:
        for column in ("discount_cents", "voucher_code", "voucher_id"):
            batch.drop_column(column)
    with op.batch_alter_table("holds") as batch:
        batch.drop_column("voucher_id")
    with op.batch_alter_table("ticket_types") as batch:
        batch.drop_column("reserved")
    op.drop_index("ix_vouchers_reserving_valid_until", table_name="vouchers")
    op.drop_index("ix_vouchers_event_tag", table_name="vouchers")
    op.drop_index("ix_vouchers_organization_id", table_name="vouchers")
    op.drop_table("vouchers")
