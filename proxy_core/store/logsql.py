"""The log writer's statements, built once from the models; both log stores run exactly these.

The SQLAlchemy store executes them as they are; the SQLite writer thread compiles them with the
engine's dialect into SQL text and bind order (see :mod:`proxy_core.store.sqlite_logstore`).
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from proxy_core.store.guardrail_hits import guardrail_hit_upsert
from proxy_core.store.models import Log, LogBody
from proxy_core.store.rollups import ROLLUP_TABLES, SUMMED

__all__ = [
    "INSERT_LOGS", "INSERT_BODIES", "COUNT_LOGS", "DELETE_OLDEST", "INDEX_PENDING", "DEQUEUE_PENDING",
    "DELETE_CHUNK", "KNOWN_IDS", "ANALYZE_LOGS", "rollup_upserts",
]  # fmt: skip

_LOGS = Log.__table__
_BODY_TEXT = "substr(CAST(coalesce({0}, '') AS TEXT), 1, 65536)"

DELETE_CHUNK = 5_000
"""Most rows one ``DELETE_OLDEST`` statement removes, so no statement runs long."""

INSERT_LOGS = insert(_LOGS)
INSERT_BODIES = insert(LogBody.__table__)
COUNT_LOGS = select(_LOGS.c.account_id, _LOGS.c.gateway_id, func.count()).group_by(
    _LOGS.c.account_id, _LOGS.c.gateway_id
)
KNOWN_IDS = select(_LOGS.c.id).where(_LOGS.c.id.in_(bindparam("ids", expanding=True)))
"""Which of the log ids in ``ids`` are stored."""
DELETE_OLDEST = delete(_LOGS).where(
    _LOGS.c.id.in_(
        select(_LOGS.c.id)
        .where(_LOGS.c.account_id == bindparam("account_id"), _LOGS.c.gateway_id == bindparam("gateway_id"))
        .order_by(_LOGS.c.created_at, _LOGS.c.id)
        .limit(bindparam("n"))
    )
)
"""The ``n`` oldest logs of one gateway (params: ``account_id``, ``gateway_id``, ``n``)."""
INDEX_PENDING = text(
    "INSERT INTO logs_fts(rowid, request, response) SELECT b.rowid, "
    + _BODY_TEXT.format("b.request_body") + ", " + _BODY_TEXT.format("b.response_body")
    + " FROM log_bodies b WHERE b.rowid IN (SELECT body_rowid FROM fts_pending ORDER BY body_rowid LIMIT :n)"
)
"""Adds up to ``n`` queued bodies to the search index (SQLite only)."""
ANALYZE_LOGS = ("PRAGMA analysis_limit = 1000", "ANALYZE logs")
"""Refresh SQLite's statistics of ``logs`` from about 1,000 rows per index (milliseconds on a
million logs). Without statistics the planner guesses, and it walked the time index for
``event_id = ?`` (0.3 s on a million logs) instead of using the event id index."""
DEQUEUE_PENDING = text(
    "DELETE FROM fts_pending WHERE body_rowid IN (SELECT body_rowid FROM fts_pending ORDER BY body_rowid LIMIT :n)"
)


def _rollup_upsert(is_sqlite: bool, table: Table) -> Executable:
    """``INSERT`` into a rollup table adding to the counters of a bucket that already has a row."""
    statement = (sqlite.insert if is_sqlite else postgresql.insert)(table)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key],
        set_={name: table.c[name] + statement.excluded[name] for name in SUMMED},
    )


def rollup_upserts(is_sqlite: bool) -> list[Executable]:
    """One :func:`_rollup_upsert` per table of :data:`ROLLUP_TABLES`, in that order, then the
    guardrail hits' upsert: one statement per list of :func:`~proxy_core.store.rollups.batch_rollups`."""
    return [*(_rollup_upsert(is_sqlite, table) for _, table in ROLLUP_TABLES), guardrail_hit_upsert(is_sqlite)]
