"""the store at a million logs: hourly rollups beside the per-minute ones, and the logs indexes
the filters and pages need

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_KEY = "bucket, account_id, gateway_id, provider, model, status_class, cached"
_SUMMED = "requests, errors, tokens_in, tokens_out, cost, duration_sum"


def upgrade() -> None:
    # A 30-day chart read 43,200 minutes × groups from log_rollups (1.6 s on a million logs); the
    # hourly table answers it from 720 hours. Backfilled from the minute table, which holds every
    # request since it exists (raw logs may have been trimmed or never stored).
    op.create_table(
        "log_rollups_hourly",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("status_class", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("duration_sum", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "account_id", "gateway_id", "provider", "model", "status_class", "cached"),
    )
    with op.batch_alter_table("log_rollups_hourly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_log_rollups_hourly_gateway_bucket", ["account_id", "gateway_id", "bucket"], unique=False
        )
    sums = ", ".join(f"sum({name})" for name in _SUMMED.split(", "))
    op.execute(
        f"INSERT INTO log_rollups_hourly ({_KEY}, {_SUMMED}) "
        f"SELECT bucket - bucket % 3600000, account_id, gateway_id, provider, model, status_class, cached, {sums} "
        "FROM log_rollups "
        "GROUP BY bucket - bucket % 3600000, account_id, gateway_id, provider, model, status_class, cached"
    )

    # Indexes of logs (each costs the log writer on every row; see models.py for why these).
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.drop_index("ix_logs_gateway_provider_model")
        batch_op.drop_index("ix_logs_event_id")
        batch_op.create_index("ix_logs_account_created", ["account_id", "created_at"], unique=False)
        for name, column in (("ix_logs_gateway_provider_created", "provider"), ("ix_logs_gateway_model_created", "model")):
            batch_op.create_index(name, ["account_id", "gateway_id", column, "created_at"], unique=False)
        batch_op.create_index(
            "ix_logs_event_id", ["event_id"], unique=False,
            sqlite_where=sa.text("event_id IS NOT NULL"), postgresql_where=sa.text("event_id IS NOT NULL"),
        )  # fmt: skip
    if op.get_bind().dialect.name == "sqlite":
        # Without statistics SQLite's planner guesses, and walked the time index for an event id.
        # The log writer refreshes them as the logs grow; this covers a store that already has logs.
        op.execute("PRAGMA analysis_limit = 1000")
        op.execute("ANALYZE logs")


def downgrade() -> None:
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.drop_index("ix_logs_event_id")
        batch_op.drop_index("ix_logs_gateway_model_created")
        batch_op.drop_index("ix_logs_gateway_provider_created")
        batch_op.drop_index("ix_logs_account_created")
        batch_op.create_index("ix_logs_event_id", ["event_id"], unique=False)
        batch_op.create_index("ix_logs_gateway_provider_model", ["gateway_id", "provider", "model"], unique=False)
    with op.batch_alter_table("log_rollups_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_log_rollups_hourly_gateway_bucket")
    op.drop_table("log_rollups_hourly")
