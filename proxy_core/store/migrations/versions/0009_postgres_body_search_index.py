"""PostgreSQL: trigram (pg_trgm) GIN indexes for the text search over log bodies

Revision ID: 0009
Revises: 0008
"""

import logging

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Must stay identical to proxy_core.store.filter_sql.PG_BODY_SEARCH (the planner matches the
# index by expression; tests/integration/test_postgres_search.py checks that it is used).
_EXPRESSION = "translate(substr(encode({0}, 'escape'), 1, 65536), '" + _UPPER + "', '" + _UPPER.lower() + "')"
_INDEXES = {"ix_log_bodies_request_trgm": "request_body", "ix_log_bodies_response_trgm": "response_body"}


def upgrade() -> None:
    # Why trigrams and not tsvector: the search is a case-insensitive substring match (what the
    # SQLite twin's matches() and the console promise: "ror 42" finds "error 42"), and a trigram
    # index answers LIKE '%…%' exactly that way, recheck included; a tsvector matches words
    # (stemmed, per language), which would change what a search finds. Bodies are bytea: the
    # indexed text is their 'escape' encoding (immutable, NUL-safe, a byte substring stays a
    # substring), first 64 KiB as the SQLite index, ASCII folded.
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first()
    if available is None:
        log.warning("pg_trgm is not installed on this server: log search stays a sequential scan")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in _INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON log_bodies USING gin ({_EXPRESSION.format(column)} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
