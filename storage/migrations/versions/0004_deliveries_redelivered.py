"""deliveries.redelivered: in flight when a worker stopped, then sent again

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a default): the deliveries table can hold
    # millions of rows, which a batch migration would copy.
    op.add_column(
        "deliveries",
        sa.Column("redelivered", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("redelivered")
