"""cache entries: the response cache's table (expiry index for the janitor, gateway index for clear)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 22:58:49.577479
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cache_entries',
    sa.Column('key', sa.String(length=256), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('streamed', sa.Boolean(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.create_index('ix_cache_entries_expires', ['expires_at'], unique=False)
        batch_op.create_index('ix_cache_entries_gateway', ['account_id', 'gateway_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_cache_entries_gateway')
        batch_op.drop_index('ix_cache_entries_expires')

    op.drop_table('cache_entries')