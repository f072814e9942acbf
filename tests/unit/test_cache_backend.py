"""SqlCacheBackend on a real SQLite store, its in-memory LRU, and the janitor."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest
from sqlalchemy import event, func, select, text

from proxy_core.cache import (
    MAX_CACHEABLE_BYTES,
    CacheBackend,
    CachedResponse,
    CacheJanitor,
    MemoryLru,
    SqlCacheBackend,
)
from proxy_core.cache.memory import footprint
from proxy_core.store.engine import Store, open_store
from proxy_core.store.models import CacheEntry

T0 = 1_760_000_000_000
BINARY = bytes(range(256)) * 16
SSE = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'


def response(
    body: bytes = BINARY, *, streamed: bool = False, created: int = T0, ttl_ms: int = 60_000, status: int = 200
) -> CachedResponse:
    headers = [("content-type", "text/event-stream" if streamed else "image/png"), ("x-dup", "1"), ("x-dup", "2")]
    return CachedResponse(status, headers, body, streamed, created, created + ttl_ms)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def backend(store: Store) -> SqlCacheBackend:
    return SqlCacheBackend(store)


class QueryCounter:
    def __init__(self, store: Store) -> None:
        self.statements: list[str] = []
        event.listen(store.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001 - DBAPI hook
        self.statements.append(statement)

    def __len__(self) -> int:
        return len(self.statements)


async def table_keys(store: Store) -> set[str]:
    async with store.sessions() as session:
        return set(await session.scalars(select(CacheEntry.key)))


def test_it_is_a_cache_backend(backend: SqlCacheBackend) -> None:
    assert isinstance(backend, CacheBackend)


# -- round trip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
async def test_round_trip_through_the_table(store: Store, backend: SqlCacheBackend, streamed: bool) -> None:
    stored = response(SSE if streamed else BINARY, streamed=streamed, status=201)
    await backend.put("k", "local", "default", stored)
    fresh = SqlCacheBackend(store)  # empty memory: the answer must come from the table
    loaded = await fresh.get("k", T0 + 1)
    assert loaded == stored
    assert isinstance(loaded.body, bytes) and loaded.headers == stored.headers


async def test_round_trip_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    first = await open_store(url)
    await SqlCacheBackend(first).put("k", "local", "default", response())
    await first.close()
    second = await open_store(url)
    try:
        assert await SqlCacheBackend(second).get("k", T0 + 1) == response()
    finally:
        await second.close()


async def test_missing_key_is_none(backend: SqlCacheBackend) -> None:
    assert await backend.get("nope", T0) is None


async def test_put_replaces_the_entry(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("k", "local", "default", response(b"old"))
    await backend.put("k", "local", "default", response(b"new", ttl_ms=120_000))
    assert (await backend.get("k", T0)).body == b"new"
    assert (await SqlCacheBackend(store).get("k", T0 + 90_000)).body == b"new"
    assert await table_keys(store) == {"k"}


async def test_put_writes_the_table_before_returning(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("local/default/abc", "local", "default", response())
    async with store.sessions() as session:
        row = await session.get(CacheEntry, "local/default/abc")
    assert row is not None and row.size == len(BINARY) and row.expires_at == T0 + 60_000


async def test_secret_response_headers_are_never_stored_or_replayed(store: Store, backend: SqlCacheBackend) -> None:
    headers = [("content-type", "application/json"), ("Set-Cookie", "__cf_bm=SECRET; path=/"), ("x-request-id", "r")]
    await backend.put("k", "local", "default", CachedResponse(200, headers, b"{}", False, T0, T0 + 60_000))
    expected = [("content-type", "application/json"), ("x-request-id", "r")]
    assert (await backend.get("k", T0)).headers == expected
    assert (await SqlCacheBackend(store).get("k", T0)).headers == expected
    async with store.engine.connect() as conn:
        raw = await conn.scalar(text("SELECT headers FROM cache_entries"))
    assert "SECRET" not in raw


async def test_oversize_bodies_are_not_cached(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("big", "local", "default", response(b"x" * (MAX_CACHEABLE_BYTES + 1)))
    assert await backend.get("big", T0) is None
    assert await table_keys(store) == set()


# -- expiry ----------------------------------------------------------------------------------------


async def test_expiry_by_now_ms_from_memory(backend: SqlCacheBackend) -> None:
    await backend.put("k", "local", "default", response(ttl_ms=1_000))
    assert await backend.get("k", T0 + 999) is not None
    assert await backend.get("k", T0 + 1_000) is None
    assert "k" not in backend.memory


async def test_expiry_by_now_ms_from_the_table(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("k", "local", "default", response(ttl_ms=1_000))
    assert await SqlCacheBackend(store).get("k", T0 + 999) is not None
    fresh = SqlCacheBackend(store)
    assert await fresh.get("k", T0 + 1_000) is None
    assert "k" not in fresh.memory


async def test_purge_expired_counts_and_deletes(store: Store, backend: SqlCacheBackend) -> None:
    for i, ttl in enumerate((1_000, 2_000, 3_000)):
        await backend.put(f"k{i}", "local", "default", response(ttl_ms=ttl))
    assert await backend.purge_expired(T0 + 2_000) == 2
    assert await table_keys(store) == {"k2"}
    assert len(backend.memory) == 1 and "k2" in backend.memory
    assert await backend.get("k2", T0 + 2_000) is not None
    assert await backend.purge_expired(T0 + 2_000) == 0


# -- clear -----------------------------------------------------------------------------------------


async def test_clear_one_gateway(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("a1", "local", "a", response())
    await backend.put("a2", "local", "a", response())
    await backend.put("b1", "local", "b", response())
    await backend.put("x1", "other", "a", response())
    assert await backend.clear("local", "a") == 2
    assert await table_keys(store) == {"b1", "x1"}
    assert await backend.get("a1", T0) is None and await backend.get("a2", T0) is None
    assert await backend.get("b1", T0) is not None and await backend.get("x1", T0) is not None
    assert await backend.clear("local", "a") == 0


# -- the memory layer ------------------------------------------------------------------------------


async def test_a_memory_hit_touches_no_sql(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("k", "local", "default", response())
    queries = QueryCounter(store)
    for _ in range(100):
        assert await backend.get("k", T0 + 1) == response()
    assert len(queries) == 0


async def test_a_memory_hit_works_with_the_database_gone(
    store: Store, backend: SqlCacheBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.put("k", "local", "default", response())

    def no_database(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the database was touched")

    monkeypatch.setattr(store, "sessions", no_database)
    assert await backend.get("k", T0 + 1) == response()


async def test_a_table_hit_fills_memory(store: Store, backend: SqlCacheBackend) -> None:
    await backend.put("k", "local", "default", response())
    fresh = SqlCacheBackend(store)
    queries = QueryCounter(store)
    await fresh.get("k", T0)
    first = len(queries)
    await fresh.get("k", T0)
    assert first >= 1 and len(queries) == first


async def test_memory_evicts_the_least_recently_used(store: Store) -> None:
    one = footprint("a", response(b"x" * 1_000))
    backend = SqlCacheBackend(store, memory_bytes=2 * one + one // 2)  # room for two
    for name in "ab":
        await backend.put(name, "local", "default", response(b"x" * 1_000))
    await backend.get("a", T0)  # a is now the most recently used
    await backend.put("c", "local", "default", response(b"x" * 1_000))
    assert "a" in backend.memory and "c" in backend.memory and "b" not in backend.memory
    assert backend.memory.bytes_used <= backend.memory.max_bytes
    queries = QueryCounter(store)
    assert await backend.get("b", T0) is not None  # still in the table
    assert len(queries) >= 1 and "b" in backend.memory and "a" not in backend.memory


async def test_an_entry_larger_than_memory_lives_in_the_table_only(store: Store) -> None:
    backend = SqlCacheBackend(store, memory_bytes=1_000)
    await backend.put("k", "local", "default", response(b"y" * 5_000))
    assert "k" not in backend.memory and len(backend.memory) == 0
    assert (await backend.get("k", T0)).body == b"y" * 5_000


async def test_memory_can_be_turned_off(store: Store) -> None:
    backend = SqlCacheBackend(store, memory_bytes=0)
    await backend.put("k", "local", "default", response())
    assert len(backend.memory) == 0 and await backend.get("k", T0) == response()


def test_memory_lru_accounting() -> None:
    lru = MemoryLru(10_000)
    entry = response(b"z" * 100)
    assert lru.put("a", "local", "g", entry) and lru.put("b", "local", "h", entry)
    assert lru.bytes_used == footprint("a", entry) + footprint("b", entry)
    lru.put("a", "local", "g", entry)  # replacing does not double-count
    assert lru.bytes_used == footprint("a", entry) + footprint("b", entry)
    assert lru.clear("local", "g") == 1 and lru.purge_expired(T0 + 60_000) == 1
    assert len(lru) == 0 and lru.bytes_used == 0


# -- a broken table never breaks a request ---------------------------------------------------------


async def test_database_errors_are_misses_and_memory_only_writes(
    store: Store, backend: SqlCacheBackend, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE cache_entries"))
    with caplog.at_level(logging.WARNING, logger="proxy_core.cache.sql"):
        assert await backend.get("missing", T0) is None
        await backend.put("k", "local", "default", response())
    assert await backend.get("k", T0) == response()  # kept in memory
    assert "cache read failed" in caplog.text and "cache write failed" in caplog.text


# -- the janitor -----------------------------------------------------------------------------------


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_janitor_purges_on_its_own(store: Store, backend: SqlCacheBackend) -> None:
    now = [T0]
    await backend.put("short", "local", "default", response(ttl_ms=1_000))
    await backend.put("long", "local", "default", response(ttl_ms=60_000))
    janitor = CacheJanitor(backend, lambda: now[0], interval=0.02)
    janitor.start()
    try:
        await asyncio.sleep(0.1)
        assert await table_keys(store) == {"short", "long"}
        now[0] = T0 + 1_000
        await wait_for(lambda: janitor.purged == 1)
        assert await table_keys(store) == {"long"}
        now[0] = T0 + 60_000
        await wait_for(lambda: janitor.purged == 2)
        assert await table_keys(store) == set()
    finally:
        await janitor.close()


class FlakyBackend:
    """Fails its first purge, then counts purges."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def purge_expired(self, now_ms: int) -> int:
        self.calls.append(now_ms)
        if len(self.calls) == 1:
            raise RuntimeError("database is locked")
        return 1


async def test_the_janitor_survives_a_failed_purge(caplog: pytest.LogCaptureFixture) -> None:
    flaky = FlakyBackend()
    janitor = CacheJanitor(flaky, lambda: T0, interval=0.01)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="proxy_core.cache.janitor"):
        janitor.start()
        await wait_for(lambda: len(flaky.calls) >= 3)
        await janitor.close()
    assert janitor.purged >= 2 and "cache purge failed" in caplog.text


async def test_the_janitor_starts_once_and_stops_cleanly() -> None:
    flaky = FlakyBackend()
    janitor = CacheJanitor(flaky, lambda: T0, interval=3600)  # type: ignore[arg-type]
    await janitor.close()  # closing before starting is harmless
    janitor.start()
    janitor.start()
    await wait_for(lambda: len(flaky.calls) == 1)  # a purge at start, then a long sleep
    task = janitor._task
    await janitor.close()
    assert task is not None and task.done() and len(flaky.calls) == 1
    await janitor.close()


async def test_table_has_the_indexes_the_janitor_and_clear_use(store: Store) -> None:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text("PRAGMA index_list('cache_entries')"))).all()
        count = await conn.scalar(select(func.count()).select_from(CacheEntry))
    names = {row[1] for row in rows}
    assert {"ix_cache_entries_expires", "ix_cache_entries_gateway"} <= names and count == 0


class HeldTable(SqlCacheBackend):
    """A table whose reads wait until the test lets them go (a store busy with something else)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, read_timeout=0.01)
        self.release = asyncio.Event()
        self.reads = 0

    async def load_from_table(self, key: str, now_ms: int) -> CachedResponse | None:
        self.reads += 1
        await self.release.wait()
        return await super().load_from_table(key, now_ms)


async def test_a_slow_table_read_is_a_counted_miss_that_warms_memory(store: Store) -> None:
    await SqlCacheBackend(store).put("k", "acct", "gw", response())  # in the table, not in this backend's memory
    held = HeldTable(store)
    assert await held.get("k", T0) is None  # the request does not wait for the read
    assert await held.get("k", T0) is None  # a second miss on the same key shares the read
    assert (held.slow_reads, held.reads) == (2, 1)
    held.release.set()
    await held.drain()
    hit = await held.get("k", T0)  # the read finished in the background and filled memory
    assert hit is not None and hit.body == BINARY
    assert (held.slow_reads, held.reads) == (2, 1)


async def test_a_fast_table_read_answers_within_its_deadline(store: Store) -> None:
    await SqlCacheBackend(store).put("k", "acct", "gw", response())
    held = HeldTable(store)
    held.release.set()
    held.read_timeout = 30  # a read that answers in time is a hit, not a slow read
    hit = await held.get("k", T0)
    assert hit is not None and held.slow_reads == 0
