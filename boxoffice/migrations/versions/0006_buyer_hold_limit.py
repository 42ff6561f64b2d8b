"""a buyer's cap on held seats, checked inside the hold's own statement (PostgreSQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:00:00

``boxoffice_buyer_may_hold`` is a condition of the hold's single ``UPDATE … RETURNING`` (see
``inventory/buyer_limits.py``). It serialises one buyer's holds on a transaction-scoped advisory lock and then
counts the buyer's active holds; being VOLATILE, its count reads a fresh snapshot taken after the lock, so it sees
every hold the same buyer committed meanwhile. SQLite needs nothing: its transactions begin IMMEDIATE, one writer
at a time, and the hold counts in Python inside that transaction.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION boxoffice_buyer_may_hold(
    p_org text, p_user text, p_event uuid, p_ticket_type uuid, p_quantity bigint, p_per_type bigint, p_per_event bigint
) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    in_type bigint;
    in_event bigint;
BEGIN
    -- One buyer's holds take turns here (until their transactions end); the count below then runs on a snapshot
    -- taken after the lock, so it includes what the buyer's previous hold committed.
    PERFORM pg_advisory_xact_lock(
        hashtextextended('boxoffice/buyer-holds' || chr(31) || p_org || chr(31) || p_user, 0)
    );
    SELECT coalesce(sum(quantity) FILTER (WHERE ticket_type_id = p_ticket_type), 0), coalesce(sum(quantity), 0)
      INTO in_type, in_event
      FROM holds
     WHERE organization_id = p_org AND user_id = p_user AND event_id = p_event AND status = 'active';
    RETURN (p_per_type <= 0 OR in_type + p_quantity <= p_per_type)
       AND (p_per_event <= 0 OR in_event + p_quantity <= p_per_event);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS boxoffice_buyer_may_hold(text, text, uuid, uuid, bigint, bigint, bigint)")
