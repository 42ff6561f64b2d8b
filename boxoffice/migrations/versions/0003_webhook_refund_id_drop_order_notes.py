"""webhook events carry our refund id; orders lose the unused notes column

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("refund_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("notes")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("notes", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("refund_id")
