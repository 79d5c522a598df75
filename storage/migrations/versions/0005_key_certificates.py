"""queues, officers, recovery_keys: certificate of the public key by the signing key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("queues", "officers", "recovery_keys")


def upgrade() -> None:
    # Nullable: keys from before stay uncertified (and unused) until `tipline keys certify`.
    for table in TABLES:
        op.add_column(table, sa.Column("certificate", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("certificate")
