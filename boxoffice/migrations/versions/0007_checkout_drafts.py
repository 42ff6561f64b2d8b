"""checkout drafts: what a buyer typed, kept out of the checkout's workflow history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:00:00

``checkout_drafts`` holds the buyer's name and e-mail and the attendees of a checkout between the API's request and
the run's first step, keyed by the order id, so the workflow's input carries no personal data (issue 11). The row is
deleted when the order is created from it, or when the checkout unwinds before that; ``created_at`` is indexed so
rows left by a start that never happened can be found and purged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import boxoffice.models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkout_drafts",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("buyer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("created_at", boxoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_checkout_drafts_created_at", "checkout_drafts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_checkout_drafts_created_at", table_name="checkout_drafts")
    op.drop_table("checkout_drafts")
