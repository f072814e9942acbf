"""The store side of the log pipeline: one transaction per batch for logs, bodies and rollups
(per minute and per hour),
with each gateway's log limit applied (``STOP_INSERTING`` or ``DELETE_OLDEST``).

Row counts per gateway are kept in memory (read once, then maintained), so enforcing the limit
costs no query per batch; :meth:`LogWriter.forget_counts` makes the next batch re-read them after
logs were deleted elsewhere. A SQLite file is written by :class:`SqliteLogStore` (its own
connection on a dedicated thread); any other store (PostgreSQL, in-memory SQLite) goes through
SQLAlchemy (:class:`CoreLogStore`). Both run the statements of :mod:`proxy_core.store.logsql`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Mapping, Protocol, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from proxy_core.store.engine import Store
from proxy_core.store.logsql import (
    ANALYZE_LOGS, COUNT_LOGS, DELETE_CHUNK, DELETE_OLDEST, DEQUEUE_PENDING, INDEX_PENDING, INSERT_BODIES, INSERT_LOGS,
    KNOWN_IDS, rollup_upserts,
)  # fmt: skip
from proxy_core.store.rollups import batch_rollups, rollup_rows
from proxy_core.store.sqlite_logstore import SqliteLogStore

__all__ = ["LogWriter", "LimitLookup", "StoredHook", "LogStore", "CoreLogStore", "open_log_store", "rollup_rows", "index_search_backlog"]

LimitLookup = Callable[[str, str], "tuple[int | None, str] | None"]
"""``(account_id, gateway_id)`` → ``(log_management, log_management_strategy)`` or ``None``."""
StoredHook = Callable[[Sequence[dict[str, Any]], Sequence[dict[str, Any]]], None]
"""Hears of ``(rows, bodies)`` once the store has them (Logpush exports only what was stored)."""

_GatewayKey = tuple[str, str]
_STATISTICS_FROM = 1_000
"""Logs stored before the planner's statistics are first refreshed; then again each time they double."""


class LogStore(Protocol):
    """Where a batch goes: each call is one transaction."""

    async def count_logs(self) -> dict[_GatewayKey, int]: ...

    async def store(
        self,
        logs: Sequence[Mapping[str, Any]],
        bodies: Sequence[Mapping[str, Any]],
        rollups: Sequence[Sequence[Mapping[str, Any]]],
        trims: Mapping[_GatewayKey, int],
    ) -> int:
        """Insert the batch and its rollups (one list per table of
        :data:`~proxy_core.store.rollups.ROLLUP_TABLES`), delete ``trims`` oldest logs per gateway;
        returns the rows deleted."""
        ...

    async def index_pending(self, limit: int) -> int: ...

    async def refresh_statistics(self) -> None:
        """Let the query planner see how the logs are spread (SQLite; PostgreSQL's autovacuum does it)."""
        ...

    async def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are in the logs table already."""
        ...

    async def close(self) -> None: ...


async def index_search_backlog(conn: AsyncConnection, limit: int) -> int:
    """Index up to ``limit`` queued bodies in the caller's transaction (SQLite only)."""
    result = await conn.execute(INDEX_PENDING, {"n": limit})
    if result.rowcount:
        await conn.execute(DEQUEUE_PENDING, {"n": limit})
    return max(result.rowcount, 0)


class CoreLogStore:
    """The log statements through SQLAlchemy's async engine (PostgreSQL, or SQLite not in a plain file).

    Trims delete at most :data:`DELETE_CHUNK` logs per gateway per batch (see :meth:`store`); the
    writer re-reads its counts when a batch trimmed less than it planned."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._rollup_upserts = rollup_upserts(store.is_sqlite)

    async def count_logs(self) -> dict[_GatewayKey, int]:
        async with self._store.engine.connect() as conn:
            return {(a, g): n for a, g, n in await conn.execute(COUNT_LOGS)}

    async def store(
        self,
        logs: Sequence[Mapping[str, Any]],
        bodies: Sequence[Mapping[str, Any]],
        rollups: Sequence[Sequence[Mapping[str, Any]]],
        trims: Mapping[_GatewayKey, int],
    ) -> int:
        trimmed = 0
        async with self._store.engine.begin() as conn:
            if logs:
                await conn.execute(INSERT_LOGS, logs)
            if bodies:
                await conn.execute(INSERT_BODIES, bodies)
            for upsert, rows in zip(self._rollup_upserts, rollups):
                if rows:
                    await conn.execute(upsert, rows)
            # One chunk per gateway per batch: a limit lowered on a big gateway is worked off over
            # the next batches, each short, each after the writer re-read the true counts (several
            # workers trimming from their own stale counts would otherwise delete far past it).
            for (account_id, gateway_id), excess in trims.items():
                params = {"account_id": account_id, "gateway_id": gateway_id, "n": min(DELETE_CHUNK, excess)}
                result = await conn.execute(DELETE_OLDEST, params)
                trimmed += max(result.rowcount, 0)
        return trimmed

    async def known_ids(self, ids: Sequence[str]) -> set[str]:
        async with self._store.engine.connect() as conn:
            return {row[0] for row in await conn.execute(KNOWN_IDS, {"ids": list(ids)})}

    async def index_pending(self, limit: int) -> int:
        if not self._store.is_sqlite:
            return 0
        async with self._store.engine.begin() as conn:
            return await index_search_backlog(conn, limit)

    async def refresh_statistics(self) -> None:
        if not self._store.is_sqlite:
            return
        async with self._store.engine.begin() as conn:
            for statement in ANALYZE_LOGS:
                await conn.execute(text(statement))

    async def close(self) -> None:
        pass


def _sqlite_file(store: Store) -> str | None:
    """The path of a store that is a plain SQLite file (which the dedicated writer thread can open)."""
    url = store.engine.url
    database = url.database
    if not store.is_sqlite or url.query or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def open_log_store(store: Store) -> LogStore:
    """The dedicated SQLite thread for a SQLite file, SQLAlchemy for anything else."""
    path = _sqlite_file(store)
    return SqliteLogStore(path, store.engine.dialect) if path is not None else CoreLogStore(store)


class LogWriter:
    def __init__(
        self, store: Store, limits: LimitLookup, log_store: LogStore | None = None, *, on_stored: StoredHook | None = None
    ) -> None:
        self._db = log_store or open_log_store(store)
        self._limits = limits
        self._on_stored = on_stored
        self._counts: dict[_GatewayKey, int] | None = None
        self._counts_epoch = 0
        self.refused: dict[_GatewayKey, int] = defaultdict(int)
        """Rows not stored because their gateway was at its log limit (``STOP_INSERTING``)."""
        self.trimmed = 0
        """Rows deleted to make room (``DELETE_OLDEST``)."""
        self._analyzed_at = 0
        """Logs stored when the planner's statistics were last refreshed (0: not by this writer)."""

    def forget_counts(self) -> None:
        self._counts = None
        self._counts_epoch += 1

    async def write(
        self, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]], tallied: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Store one batch (raises to have the pipeline retry it whole); ``tallied`` rows (log
        collection off) only add to the rollups."""
        epoch = self._counts_epoch
        counts = self._counts
        if counts is None:
            counts = await self._db.count_logs()
        counts = dict(counts)
        keep, trims, refused = self._apply_limits(rows, counts)
        if keep and refused:
            kept_ids = {row["id"] for row in keep}
            bodies = [b for b in bodies if b["log_id"] in kept_ids]
        elif not keep:
            bodies = ()
        trimmed = await self._db.store(keep, bodies, batch_rollups([*rows, *tallied] if tallied else rows), trims)
        if trimmed < sum(trims.values()):
            self.forget_counts()  # a chunked trim goes on, or a sibling worker trimmed first: re-read
        if keep and self._on_stored is not None:
            self._on_stored(keep, bodies)
        for key, excess in trims.items():
            counts[key] -= excess
        if epoch == self._counts_epoch:  # logs deleted meanwhile: the next batch re-reads the counts
            self._counts = counts
        stored = sum(counts.values())
        if stored >= max(_STATISTICS_FROM, 2 * self._analyzed_at):
            await self._db.refresh_statistics()
            self._analyzed_at = stored
        self.trimmed += trimmed
        for key, n in refused.items():
            self.refused[key] += n

    def _apply_limits(
        self, rows: Sequence[dict[str, Any]], counts: dict[_GatewayKey, int]
    ) -> tuple[list[dict[str, Any]], dict[_GatewayKey, int], dict[_GatewayKey, int]]:
        keep: list[dict[str, Any]] = []
        trims: dict[_GatewayKey, int] = defaultdict(int)
        refused: dict[_GatewayKey, int] = defaultdict(int)
        for row in rows:
            key = (row["account_id"], row["gateway_id"])
            limit = self._limits(*key)
            current = counts.get(key, 0)
            if limit is not None and limit[0] is not None and current >= limit[0]:
                if limit[1] != "DELETE_OLDEST":
                    refused[key] += 1
                    continue
                trims[key] += 1
            counts[key] = current + 1
            keep.append(row)
        return keep, trims, refused

    async def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the store has (replaying the crash spool skips them)."""
        return await self._db.known_ids(ids) if ids else set()

    async def index_pending(self, limit: int = 2_000) -> int:
        """Add up to ``limit`` queued bodies to the search index (SQLite); returns how many."""
        return await self._db.index_pending(limit)

    async def close(self) -> None:
        """Close the store's connection (after the pipeline has flushed)."""
        await self._db.close()
