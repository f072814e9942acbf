"""initial schema: gateways, logs, log bodies

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 22:00:23.697774
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gateways',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('cache_ttl', sa.Integer(), nullable=True),
    sa.Column('cache_invalidate_on_update', sa.Boolean(), nullable=False),
    sa.Column('collect_logs', sa.Boolean(), nullable=False),
    sa.Column('rate_limiting_interval', sa.Integer(), nullable=True),
    sa.Column('rate_limiting_limit', sa.Integer(), nullable=True),
    sa.Column('rate_limiting_technique', sa.String(length=16), nullable=False),
    sa.Column('authentication', sa.Boolean(), nullable=False),
    sa.Column('log_management', sa.BigInteger(), nullable=True),
    sa.Column('log_management_strategy', sa.String(length=16), nullable=False),
    sa.Column('logpush', sa.Boolean(), nullable=False),
    sa.Column('logpush_public_key', sa.Text(), nullable=True),
    sa.Column('guardrails', sa.JSON(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('modified_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'id')
    )
    op.create_table('logs',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=256), nullable=True),
    sa.Column('model_type', sa.String(length=32), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('request_type', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('cached', sa.Boolean(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=256), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('ttfb', sa.Integer(), nullable=True),
    sa.Column('tokens_in', sa.Integer(), nullable=True),
    sa.Column('tokens_out', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('custom_cost', sa.Boolean(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.Column('feedback', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('guardrails', sa.JSON(), nullable=True),
    sa.Column('request_content_type', sa.String(length=128), nullable=True),
    sa.Column('response_content_type', sa.String(length=128), nullable=True),
    sa.Column('request_size', sa.Integer(), nullable=False),
    sa.Column('response_size', sa.Integer(), nullable=False),
    sa.Column('body_stored', sa.Boolean(), nullable=False),
    sa.Column('body_truncated', sa.Boolean(), nullable=False),
    sa.Column('streamed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.create_index('ix_logs_event_id', ['event_id'], unique=False)
        batch_op.create_index('ix_logs_gateway_created', ['account_id', 'gateway_id', 'created_at'], unique=False)
        batch_op.create_index('ix_logs_gateway_provider_model', ['gateway_id', 'provider', 'model'], unique=False)

    op.create_table('log_bodies',
    sa.Column('log_id', sa.String(length=26), nullable=False),
    sa.Column('request_headers', sa.JSON(), nullable=True),
    sa.Column('request_body', sa.LargeBinary(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['log_id'], ['logs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('log_id')
    )


def downgrade() -> None:
    op.drop_table('log_bodies')
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_index('ix_logs_gateway_provider_model')
        batch_op.drop_index('ix_logs_gateway_created')
        batch_op.drop_index('ix_logs_event_id')

    op.drop_table('logs')
    op.drop_table('gateways')
