"""The log store for a SQLite file: its own ``sqlite3`` connection on one dedicated thread.

A batch is one call into the thread and one transaction with **one multi-row ``INSERT`` per
table** (logs, bodies, each rollup table), plus any retention deletes; the search-index backlog
runs on the same connection, so the log writer never competes with itself for SQLite's write lock. The
statements are the ones in :mod:`proxy_core.store.logsql`, compiled once with the engine's dialect,
and values go through that dialect's bind processors, so rows are stored exactly as the SQLAlchemy
path stores them.

Why multi-row statements: ``sqlite3`` releases the GIL around every statement step. With
``executemany`` that is one release per row, and while the event loop is busy each re-take waits
for the interpreter's switch interval (5 ms), so the writer managed a few hundred rows per second
under load however fast SQLite was. One statement per table pays that hand-off once per batch.
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
    ANALYZE_LOGS, COUNT_LOGS, DEQUEUE_PENDING, DELETE_CHUNK, DELETE_OLDEST, INDEX_PENDING, INSERT_BODIES, INSERT_LOGS,
    rollup_upserts,
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

    def multi_row_sql(self, n: int) -> str:
        """This ``INSERT`` with ``n`` rows in its ``VALUES`` clause (any ``ON CONFLICT`` tail kept)."""
        start = self.sql.index(" VALUES (") + len(" VALUES ")
        end = self.sql.index(")", start) + 1
        group = self.sql[start:end]
        if group.count("?") != len(self._names):
            raise ValueError(f"not a one-row INSERT with every bind in VALUES: {self.sql[:80]}")
        return self.sql[:start] + ", ".join([group] * n) + self.sql[end:]

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Mapping[str, Any]], max_variables: int) -> None:
        """Insert ``rows`` with as few statements as SQLite's bind-variable limit allows."""
        per_statement = max(1, max_variables // max(1, len(self._names)))
        params = self.many(rows)
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            conn.execute(self.multi_row_sql(len(chunk)), [value for row in chunk for value in row])

    def one(self, values: Mapping[str, Any]) -> list[Any]:
        """Parameters for one execution; binds not in ``values`` keep their compiled value."""
        params = self._compiled.construct_params(dict(values))
        return self.many([params])[0]


class SqliteLogStore:
    """The log writer's statements on a SQLite file, executed on one thread that owns the connection."""

    def __init__(self, path: str, dialect: Dialect, *, max_variables: int | None = None) -> None:
        """``max_variables``: bind variables per statement (default: the connection's own limit)."""
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._max_variables = max_variables or 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aigw-log-sqlite")
        self._logs = _Prepared(INSERT_LOGS, dialect)
        self._bodies = _Prepared(INSERT_BODIES, dialect)
        self._rollups = [_Prepared(upsert, dialect) for upsert in rollup_upserts(True)]
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
        rollups: Sequence[Sequence[Mapping[str, Any]]],
        trims: Mapping[tuple[str, str], int],
    ) -> int:
        """Insert one batch and delete ``trims`` oldest rows per gateway, in one transaction; rows deleted."""
        return await self._call(self._in_transaction, self._store, logs, bodies, rollups, trims)

    async def index_pending(self, limit: int) -> int:
        return await self._call(self._in_transaction, self._index_pending, limit)

    async def known_ids(self, ids: Sequence[str]) -> set[str]:
        return await self._call(self._known_ids, list(ids))

    async def refresh_statistics(self) -> None:
        await self._call(self._in_transaction, self._analyze)

    async def close(self) -> None:
        if self._conn is not None:
            await self._call(self._close)
        self._thread.shutdown(wait=True)

    # -- on the writer thread --------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Transactions are explicit. A tiny statement cache: a prepared 800-row INSERT holds about
            # a megabyte, and with 32 cached the peak RSS under load was 125 MB (94 MB with 4).
            conn = sqlite3.connect(self._path, isolation_level=None, cached_statements=4)
            try:
                _sqlite_pragmas(conn, None)
                if not self._max_variables:
                    self._max_variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
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
        rollups: Sequence[Sequence[Mapping[str, Any]]],
        trims: Mapping[tuple[str, str], int],
    ) -> int:
        limit = self._max_variables
        if logs:
            self._logs.insert(conn, logs, limit)
        if bodies:
            self._bodies.insert(conn, bodies, limit)
        for upsert, rows in zip(self._rollups, rollups):
            if rows:
                upsert.insert(conn, rows, limit)
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

    def _known_ids(self, ids: list[str]) -> set[str]:
        conn = self._connection()
        found: set[str] = set()
        step = max(1, self._max_variables)
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            sql = f"SELECT id FROM logs WHERE id IN ({', '.join('?' * len(chunk))})"
            found.update(row[0] for row in conn.execute(sql, chunk))
        return found

    def _analyze(self, conn: sqlite3.Connection) -> None:
        for statement in ANALYZE_LOGS:
            conn.execute(statement)

    def _index_pending(self, conn: sqlite3.Connection, limit: int) -> int:
        indexed = conn.execute(self._index.sql, self._index.one({"n": limit})).rowcount
        if indexed > 0:
            conn.execute(self._dequeue.sql, self._dequeue.one({"n": limit}))
        return max(indexed, 0)
