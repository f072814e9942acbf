"""datasets, evaluations, tokens, audit log, rollups, retry settings, search index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:10:23.203407
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=256), nullable=False),
    sa.Column('interface', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=128), nullable=False),
    sa.Column('old_value', sa.JSON(), nullable=True),
    sa.Column('new_value', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_account_created', ['account_id', 'created_at'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('enable', sa.Boolean(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('modified_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index('ix_datasets_gateway', ['account_id', 'gateway_id'], unique=False)

    op.create_table('evaluations',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('dataset_ids', sa.JSON(), nullable=False),
    sa.Column('datasets', sa.JSON(), nullable=False),
    sa.Column('evaluation_type_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('total_logs', sa.Integer(), nullable=False),
    sa.Column('cutoff_ms', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('modified_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_evaluations_gateway', ['account_id', 'gateway_id'], unique=False)

    op.create_table('gateway_tokens',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=128), nullable=False),
    sa.Column('hint', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gateway_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_tokens_gateway', ['account_id', 'gateway_id'], unique=False)

    op.create_table('log_rollups',
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=256), nullable=False),
    sa.Column('status_class', sa.Integer(), nullable=False),
    sa.Column('cached', sa.Boolean(), nullable=False),
    sa.Column('requests', sa.BigInteger(), nullable=False),
    sa.Column('errors', sa.BigInteger(), nullable=False),
    sa.Column('tokens_in', sa.BigInteger(), nullable=False),
    sa.Column('tokens_out', sa.BigInteger(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('duration_sum', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'account_id', 'gateway_id', 'provider', 'model', 'status_class', 'cached')
    )
    with op.batch_alter_table('log_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_log_rollups_gateway_bucket', ['account_id', 'gateway_id', 'bucket'], unique=False)

    op.create_table('evaluation_results',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('evaluation_id', sa.String(length=26), nullable=False),
    sa.Column('evaluation_type_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('logs_used', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('modified_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_results_evaluation', ['evaluation_id'], unique=False)

    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_max_attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retry_delay', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retry_backoff', sa.String(length=16), nullable=True))


    # Text search over prompts and responses (SQLite): a contentless FTS5 index fed by triggers on
    # log_bodies, so the log writer inserts bodies as usual and deletions (retention, delete by
    # filter, ON DELETE CASCADE) keep the index in step. The first 64 KiB of each body is indexed.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE logs_fts USING fts5(request, response, content='', tokenize='unicode61')")
        op.execute(
            "CREATE TRIGGER log_bodies_fts_insert AFTER INSERT ON log_bodies BEGIN "
            "INSERT INTO logs_fts(rowid, request, response) VALUES (new.rowid, "
            f"{_indexed('new.request_body')}, {_indexed('new.response_body')}); END"
        )
        op.execute(
            "CREATE TRIGGER log_bodies_fts_delete AFTER DELETE ON log_bodies BEGIN "
            "INSERT INTO logs_fts(logs_fts, rowid, request, response) VALUES ('delete', old.rowid, "
            f"{_indexed('old.request_body')}, {_indexed('old.response_body')}); END"
        )


def _indexed(column: str) -> str:
    return f"substr(CAST(coalesce({column}, '') AS TEXT), 1, 65536)"


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_delete")
        op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_insert")
        op.execute("DROP TABLE IF EXISTS logs_fts")
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.drop_column('retry_backoff')
        batch_op.drop_column('retry_delay')
        batch_op.drop_column('retry_max_attempts')

    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_results_evaluation')

    op.drop_table('evaluation_results')
    with op.batch_alter_table('log_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_log_rollups_gateway_bucket')

    op.drop_table('log_rollups')
    with op.batch_alter_table('gateway_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_tokens_gateway')

    op.drop_table('gateway_tokens')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluations_gateway')

    op.drop_table('evaluations')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_datasets_gateway')

    op.drop_table('datasets')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_account_created')

    op.drop_table('audit_log')
