"""The log store for a SQLite file: its own ``sqlite3`` connection on one dedicated thread.

A batch is one call into the thread and one transaction of prepared ``executemany`` statements
(logs, bodies, rollups, retention deletes); the search-index backlog runs on the same connection,
so the log writer never competes with itself for SQLite's write lock. The statements are the ones
in :mod:`proxy_core.store.logsql`, compiled once with the engine's dialect, and values go through
that dialect's bind processors, so rows are stored exactly as the SQLAlchemy path stores them.
Compared with SQLAlchemy over aiosqlite this saves the per-row parameter processing of the Core
execution context and a thread hop per statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any, Callable, Mapping, Sequence, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from proxy_core.store.engine import _sqlite_pragmas
from proxy_core.store.logsql import (
    COUNT_LOGS, DEQUEUE_PENDING, DELETE_CHUNK, DELETE_OLDEST, INDEX_PENDING, INSERT_BODIES, INSERT_LOGS, rollup_upsert,
)  # fmt: skip

__all__ = ["SqliteLogStore"]

_T = TypeVar("_T")


class _Prepared:
    """One statement as SQL text for ``sqlite3`` plus how to turn a dict of values into its parameters."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._compiled = compiled
        names = list(compiled.positiontup or ())
        self._names = names
        self._get = itemgetter(*names) if len(names) > 1 else (lambda row: tuple(row[n] for n in names))
        processors = []
        for index, name in enumerate(names):
            bind_type = compiled.binds[name].type
            process = bind_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((index, process))
        self._processors = tuple(processors)

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]]:
        """Parameters for ``executemany``: every bound column must be in every row."""
        get, processors = self._get, self._processors
        if not processors:
            return [get(row) for row in rows]
        out = []
        for row in rows:
            values = list(get(row))
            for index, process in processors:
                values[index] = process(values[index])
            out.append(values)
        return out

    def one(self, values: Mapping[str, Any]) -> list[Any]:
        """Parameters for one execution; binds not in ``values`` keep their compiled value."""
        params = self._compiled.construct_params(dict(values))
        return self.many([params])[0]


class SqliteLogStore:
    """The log writer's statements on a SQLite file, executed on one thread that owns the connection."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aigw-log-sqlite")
        self._logs = _Prepared(INSERT_LOGS, dialect)
        self._bodies = _Prepared(INSERT_BODIES, dialect)
        self._rollups = _Prepared(rollup_upsert(True), dialect)
        self._count = _Prepared(COUNT_LOGS, dialect)
        self._delete_oldest = _Prepared(DELETE_OLDEST, dialect)
        self._index = _Prepared(INDEX_PENDING, dialect)
        self._dequeue = _Prepared(DEQUEUE_PENDING, dialect)

    async def _call(self, work: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    async def count_logs(self) -> dict[tuple[str, str], int]:
        return await self._call(self._in_transaction, self._count_logs)

    async def store(
        self,
        logs: Sequence[Mapping[str, Any]],
        bodies: Sequence[Mapping[str, Any]],
        rollups: Sequence[Mapping[str, Any]],
        trims: Mapping[tuple[str, str], int],
    ) -> int:
        """Insert one batch and delete ``trims`` oldest rows per gateway, in one transaction; rows deleted."""
        return await self._call(self._in_transaction, self._store, logs, bodies, rollups, trims)

    async def index_pending(self, limit: int) -> int:
        return await self._call(self._in_transaction, self._index_pending, limit)

    async def close(self) -> None:
        if self._conn is not None:
            await self._call(self._close)
        self._thread.shutdown(wait=True)

    # -- on the writer thread --------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)  # transactions are explicit
            try:
                _sqlite_pragmas(conn, None)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def _in_transaction(self, work: Callable[..., _T], *args: Any) -> _T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now: busy_timeout applies, no upgrade deadlock
        try:
            result = work(conn, *args)
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:  # the connection is unusable: open a fresh one for the retry
                self._close()
            raise
        return result

    def _count_logs(self, conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
        return {(a, g): n for a, g, n in conn.execute(self._count.sql)}

    def _store(
        self,
        conn: sqlite3.Connection,
        logs: Sequence[Mapping[str, Any]],
        bodies: Sequence[Mapping[str, Any]],
        rollups: Sequence[Mapping[str, Any]],
        trims: Mapping[tuple[str, str], int],
    ) -> int:
        if logs:
            conn.executemany(self._logs.sql, self._logs.many(logs))
        if bodies:
            conn.executemany(self._bodies.sql, self._bodies.many(bodies))
        if rollups:
            conn.executemany(self._rollups.sql, self._rollups.many(rollups))
        trimmed = 0
        for (account_id, gateway_id), excess in trims.items():
            done = 0
            while done < excess:
                values = {"account_id": account_id, "gateway_id": gateway_id, "n": min(DELETE_CHUNK, excess - done)}
                deleted = conn.execute(self._delete_oldest.sql, self._delete_oldest.one(values)).rowcount
                if deleted <= 0:
                    break
                done += deleted
            trimmed += done
        return trimmed

    def _index_pending(self, conn: sqlite3.Connection, limit: int) -> int:
        indexed = conn.execute(self._index.sql, self._index.one({"n": limit})).rowcount
        if indexed > 0:
            conn.execute(self._dequeue.sql, self._dequeue.one({"n": limit}))
        return max(indexed, 0)
