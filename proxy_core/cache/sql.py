"""The default cache backend: the ``cache_entries`` table, behind a bounded in-memory LRU and, when
gateway processes share a Redis, the shared layer of :mod:`proxy_core.cache.redis_layer`.

Repeated hits are answered from memory and never touch the database; with Redis, an entry written
through any process is found there before the table is asked. The table keeps entries
across restarts and beyond the memory budget; a miss in memory costs one primary-key read, which
a request waits for at most ``read_timeout`` (then it is a miss, and the read warms memory).
The cache is best effort: a database error on ``get`` is a miss and on ``put`` leaves the entry
in memory only (both are logged), so a broken store never breaks a request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Delete, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from proxy_core.cache.backend import CachedResponse, SharedEntry
from proxy_core.cache.keys import MAX_CACHEABLE_BYTES
from proxy_core.cache.memory import MemoryLru
from proxy_core.redact import is_secret_header
from proxy_core.store.engine import Store
from proxy_core.store.models import CacheEntry

if TYPE_CHECKING:  # Redis's client is imported only by a process configured to use it
    from proxy_core.cache.redis_layer import RedisCacheLayer

__all__ = ["SqlCacheBackend"]

log = logging.getLogger(__name__)

_E = CacheEntry
_COLUMNS = (_E.account_id, _E.gateway_id, _E.status, _E.headers, _E.body, _E.streamed, _E.created_at, _E.expires_at)
_UPSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


class SqlCacheBackend:
    """A :class:`~proxy_core.cache.CacheBackend` on the store, with ``memory_bytes`` of LRU in front.

    ``put`` writes memory at once and the table before it returns. Entries whose body exceeds
    :data:`~proxy_core.cache.MAX_CACHEABLE_BYTES` are not stored at all, and secret response
    headers (``set-cookie`` and the rest of :data:`proxy_core.redact.SECRET_HEADERS`) are
    dropped: they never reach the store, nor another client through a replay.
    """

    def __init__(
        self,
        store: Store,
        *,
        memory_bytes: int = 64 * 1024 * 1024,
        read_timeout: float = 0.05,
        shared: RedisCacheLayer | None = None,
    ) -> None:
        self._store = store
        self.shared = shared
        """The Redis layer between memory and the table, when processes share one."""
        self._dialect = store.engine.dialect.name
        self.memory = MemoryLru(memory_bytes)
        """The in-memory layer (exposed for tests and the console's cache statistics)."""
        self.read_timeout = read_timeout
        """Seconds a request waits for a table read; then it is a miss (see :meth:`get`)."""
        self.slow_reads = 0
        """Table reads that outlasted :attr:`read_timeout` (answered as misses)."""
        self._loads: dict[str, asyncio.Task[CachedResponse | None]] = {}
        self._warming: set[asyncio.Task[None]] = set()

    async def get(self, key: str, now_ms: int) -> CachedResponse | None:
        """The entry under ``key`` if fresh at ``now_ms``: from memory, else from the table.

        A request never waits on the database for longer than :attr:`read_timeout`: a slower read
        (a store busy with a big write, a distant PostgreSQL) is a miss for this request, counted
        in :attr:`slow_reads`, and goes on in the background to warm memory for the next one.
        Concurrent misses on one key share one read.
        """
        held = self.memory.get(key)
        if held is not None:
            if held.is_fresh(now_ms):
                return held
            self.memory.discard(key)  # the row is just as stale; the janitor deletes it
            return None
        if self.shared is not None:
            entry = await self.shared.get(key, now_ms)
            if entry is not None:
                self.memory.put(key, entry.account_id, entry.gateway_id, entry.response)
                return entry.response
        load = self._loads.get(key)
        if load is None:
            load = self._loads[key] = asyncio.get_running_loop().create_task(self._load_quietly(key, now_ms))
            load.add_done_callback(lambda _: self._loads.pop(key, None))
        try:
            async with asyncio.timeout(self.read_timeout):
                return await asyncio.shield(load)
        except TimeoutError:
            self.slow_reads += 1
            return None

    async def drain(self) -> None:
        """Wait for table reads still warming memory, and Redis (at shutdown, before the store closes)."""
        while self._loads or self._warming:
            await asyncio.gather(*self._loads.values(), *self._warming, return_exceptions=True)

    async def _load_quietly(self, key: str, now_ms: int) -> CachedResponse | None:
        try:
            return await self.load_from_table(key, now_ms)
        except SQLAlchemyError as exc:
            log.warning("cache read failed, answering as a miss: %s", exc)
            return None

    async def put(self, key: str, account_id: str, gateway_id: str, response: CachedResponse) -> None:
        """Store ``response`` in memory, Redis and the table (replacing any entry under ``key``)."""
        if len(response.body) > MAX_CACHEABLE_BYTES:
            return
        response = _without_secrets(response)
        self.memory.put(key, account_id, gateway_id, response)
        if self.shared is not None:
            await self.shared.put(key, SharedEntry(response, account_id, gateway_id), response.created_ms)
        try:
            async with self._store.sessions.begin() as session:
                await _upsert(session, self._dialect, _row(key, account_id, gateway_id, response))
        except SQLAlchemyError as exc:
            log.warning("cache write failed, entry kept in memory only: %s", exc)

    async def purge_expired(self, now_ms: int) -> int:
        """Delete entries expired at ``now_ms`` from memory and table; the rows deleted."""
        self.memory.purge_expired(now_ms)
        return await self._delete(delete(_E).where(_E.expires_at <= now_ms))

    async def clear(self, account_id: str, gateway_id: str) -> int:
        """Delete every entry of one gateway from memory, Redis and table; the rows deleted."""
        self.memory.clear(account_id, gateway_id)
        if self.shared is not None:
            await self.shared.clear(account_id, gateway_id)
        return await self._delete(delete(_E).where(_E.account_id == account_id, _E.gateway_id == gateway_id))

    async def load_from_table(self, key: str, now_ms: int) -> CachedResponse | None:
        """Read one entry from the table into memory, however long the read takes (:meth:`get`
        bounds the wait)."""
        async with self._store.sessions() as session:
            row = (await session.execute(select(*_COLUMNS).where(_E.key == key))).first()
        if row is None or row.expires_at <= now_ms:
            return None
        response = CachedResponse(
            status=row.status,
            headers=[(name, value) for name, value in row.headers],
            body=bytes(row.body),
            streamed=bool(row.streamed),
            created_ms=row.created_at,
            expires_ms=row.expires_at,
        )
        self.memory.put(key, row.account_id, row.gateway_id, response)
        if self.shared is not None:  # Redis restarted, evicted it or was down: share it again
            entry = SharedEntry(response, row.account_id, row.gateway_id)
            task = asyncio.get_running_loop().create_task(self.shared.put(key, entry, now_ms))
            self._warming.add(task)
            task.add_done_callback(self._warming.discard)
        return response

    async def _delete(self, statement: Delete) -> int:
        async with self._store.sessions.begin() as session:
            result = await session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined] - a CursorResult


def _without_secrets(response: CachedResponse) -> CachedResponse:
    if not any(is_secret_header(name) for name, _ in response.headers):
        return response
    kept = [(name, value) for name, value in response.headers if not is_secret_header(name)]
    return dataclasses.replace(response, headers=kept)


def _row(key: str, account_id: str, gateway_id: str, response: CachedResponse) -> dict[str, Any]:
    return {
        "key": key,
        "account_id": account_id,
        "gateway_id": gateway_id,
        "status": response.status,
        "headers": [[name, value] for name, value in response.headers],
        "body": response.body,
        "streamed": response.streamed,
        "size": len(response.body),
        "created_at": response.created_ms,
        "expires_at": response.expires_ms,
    }


async def _upsert(session: AsyncSession, dialect: str, row: dict[str, Any]) -> None:
    """Insert or replace one row: a native upsert on SQLite and PostgreSQL, else delete + insert."""
    insert = _UPSERTS.get(dialect)
    if insert is None:
        await session.execute(delete(_E).where(_E.key == row["key"]))
        await session.execute(_E.__table__.insert().values(row))
        return
    statement = insert(_E).values(row)
    updates = {name: statement.excluded[name] for name in row if name != "key"}
    await session.execute(statement.on_conflict_do_update(index_elements=[_E.key], set_=updates))
