"""logs.worker_id: which worker process of a ``--workers`` group served the request

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: a single-process gateway leaves it NULL, and adding such a
    # column is a catalogue-only change on both dialects (no table rewrite on a million logs). No
    # index: the filter is rare and pinned to a gateway, whose time index bounds the walk.
    with op.batch_alter_table("logs") as batch:
        batch.add_column(sa.Column("worker_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("worker_id")
