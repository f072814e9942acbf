"""logs.worker_id: which worker process of a ``--workers`` group served the request

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: a single-process gateway leaves it NULL, and adding such a
    # column is a catalogue-only change on both dialects (no table rewrite on a million logs). No
    # index: the filter is rare and pinned to a gateway, whose time index bounds the walk.
    op.add_column("logs", sa.Column("worker_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both (SQLite >= 3.35): a batch "move and copy" of logs would drop the
    # old table, and with foreign keys on that cascades into log_bodies.
    op.execute("ALTER TABLE logs DROP COLUMN worker_id")
