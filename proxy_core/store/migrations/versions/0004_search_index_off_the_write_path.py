"""search index off the write path: inserts queue body rowids, the log writer indexes when idle

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _indexed(column: str) -> str:
    return f"substr(CAST(coalesce({column}, '') AS TEXT), 1, 65536)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Tokenising bodies inside the insert tripled the cost of each log row. Now an insert only
    # queues the body's rowid; the log writer indexes queued rows in bulk when it is idle.
    op.execute("CREATE TABLE fts_pending (body_rowid INTEGER PRIMARY KEY)")
    op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_insert")
    op.execute(
        "CREATE TRIGGER log_bodies_fts_queue AFTER INSERT ON log_bodies BEGIN "
        "INSERT INTO fts_pending(body_rowid) VALUES (new.rowid); END"
    )
    op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_delete")
    op.execute(
        "CREATE TRIGGER log_bodies_fts_delete AFTER DELETE ON log_bodies BEGIN "
        "INSERT INTO logs_fts(logs_fts, rowid, request, response) SELECT 'delete', old.rowid, "
        f"{_indexed('old.request_body')}, {_indexed('old.response_body')} "
        "WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_rowid = old.rowid); "
        "DELETE FROM fts_pending WHERE body_rowid = old.rowid; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO logs_fts(rowid, request, response) SELECT b.rowid, "
        f"{_indexed('b.request_body')}, {_indexed('b.response_body')} "
        "FROM log_bodies b JOIN fts_pending p ON p.body_rowid = b.rowid"
    )
    op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_delete")
    op.execute("DROP TRIGGER IF EXISTS log_bodies_fts_queue")
    op.execute("DROP TABLE fts_pending")
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
