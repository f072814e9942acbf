"""logpush: per-gateway delivery state (file sequence, last delivery, pending, errors, drops)

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The gateways' logpush and logpush_public_key columns exist since 0001; what Logpush adds is
    # where each gateway's export stands, kept in the store so file sequences survive restarts and
    # every console (attached ones too) sees the last delivery, the lag and the errors.
    op.create_table(
        "logpush_state",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("delivered_files", sa.BigInteger(), nullable=False),
        sa.Column("delivered_records", sa.BigInteger(), nullable=False),
        sa.Column("last_delivery_at", sa.BigInteger(), nullable=True),
        sa.Column("pending_records", sa.BigInteger(), nullable=False),
        sa.Column("oldest_pending_at", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
        sa.Column("dropped_records", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "gateway_id"),
    )


def downgrade() -> None:
    op.drop_table("logpush_state")
