"""guardrail hits: per-minute counts of hazard categories found, for the Guardrails counters

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
    # The counters start empty: the logs written before this revision are not counted back (the
    # view's counters cover the last 24 hours, so they are complete a day after the upgrade).
    op.create_table(
        "guardrail_hits",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "gateway_id", "bucket", "category", "action"),
    )


def downgrade() -> None:
    op.drop_table("guardrail_hits")
