"""The SQLite log store (own connection on a dedicated thread) against the SQLAlchemy one it replaces
for SQLite files: identical rows, retention, retried failures and the flush at close."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson
import pytest

from proxy_core.config import LogSettings
from proxy_core.costs import load_pricing
from proxy_core.exchange import Exchange
from proxy_core.logpipe import LogPipe
from proxy_core.logrows import build_rows
from proxy_core.policy import DEFAULT_POLICY, RequestPolicy
from proxy_core.providers.registry import FAMILIES
from proxy_core.store.engine import Store, open_store
from proxy_core.store.logwriter import CoreLogStore, LimitLookup, LogWriter, open_log_store
from proxy_core.store.sqlite_logstore import SqliteLogStore

PRICING = load_pricing()
MAX_BODY = 2_000
KINDS = ["thread", "core"]
TABLES = ("logs", "log_bodies", "log_rollups", "log_rollups_hourly", "fts_pending")

OPENAI_REQUEST = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
OPENAI_RESPONSE = orjson.dumps(
    {"id": "c1", "object": "chat.completion", "model": "gpt-4o-2024-08-06", "choices": [],
     "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}}
)  # fmt: skip
SSE_RESPONSE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n'
    b"data: [DONE]\n\n"
)


def exchange(n: int, gateway: str = "default", **fields: Any) -> Exchange:
    values: dict[str, Any] = dict(
        id=f"{n:026d}", account_id="local", gateway_id=gateway, started_ms=1_800_000_000_000 + n * 7_000,
        provider="openai", family=FAMILIES["openai"], path="/chat/completions", method="POST", request_type="provider",
        policy=DEFAULT_POLICY, collect_bodies=True,
        request_headers=[("Content-Type", "application/json"), ("Authorization", "Bearer sk-secret")],
        request_body=OPENAI_REQUEST, status_code=200, response_headers=[("Content-Type", "application/json")],
        response_body=OPENAI_RESPONSE, response_size=len(OPENAI_RESPONSE), duration_ms=12, ttfb_ms=5,
    )  # fmt: skip
    values.update(fields)
    return Exchange(**values)


def sample_exchanges() -> list[Exchange]:
    """JSON and streamed answers, errors, bodies over the cap, no bodies, metadata, guardrails, cache hits."""
    return [
        exchange(0),
        exchange(1, response_headers=[("Content-Type", "text/event-stream")], response_body=SSE_RESPONSE,
                 response_size=len(SSE_RESPONSE), streamed=True),
        exchange(2, status_code=502, error_code=2005, error="Provider 'openai' is unreachable: ClientConnectorError",
                 response_body=b'{"success":false}', family=None),
        exchange(3, status_code=429, error="upstream answered 429", response_body=b'{"error":"slow down"}'),
        exchange(4, request_body=b"x" * (MAX_BODY + 1)),
        exchange(5, response_body=None, response_truncated=True, response_size=10 * MAX_BODY, streamed=True),
        exchange(6, collect_bodies=False),
        exchange(7, policy=RequestPolicy(metadata={"user": "u1", "n": 3}, event_id="evt-7"),
                 guardrails={"prompt": {"action": "flagged", "categories": ["S1"]}}),
        exchange(8, cached=True, step=1, request_type="universal"),
        exchange(9, gateway="other", request_body=b"", method="GET", path="/models?key=[REDACTED]"),
        exchange(10, status_code=499, error_code=2015, error="client disconnected", response_body=b"\x00\xffbinary"),
    ]  # fmt: skip


def batch(exchanges: list[Exchange]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, bodies = [], []
    for ex in exchanges:
        row, body = build_rows(ex, PRICING, MAX_BODY)
        rows.append(row)
        if body is not None:
            bodies.append(body)
    return rows, bodies


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored value with its SQLite storage class, table by table."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in TABLES:
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
            select = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
            out[table] = sorted(conn.execute(f"SELECT {select} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        conn.close()


Opener = Callable[..., Awaitable[tuple[Store, LogWriter]]]


@pytest.fixture
async def open_writer(tmp_path: Path) -> AsyncIterator[Opener]:
    opened: list[tuple[Store, LogWriter]] = []

    async def open_(kind: str, limits: LimitLookup = lambda a, g: None, name: str = "logs.db") -> tuple[Store, LogWriter]:
        store = await open_store(f"sqlite+aiosqlite:///{tmp_path / name}")
        writer = LogWriter(store, limits, CoreLogStore(store) if kind == "core" else None)
        opened.append((store, writer))
        return store, writer

    yield open_
    for store, writer in opened:
        await writer.close()
        await store.close()


def count(path: Path, sql: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# -- the same rows as the SQLAlchemy path ---------------------------------------------------------


async def test_a_sqlite_file_gets_the_thread_store_anything_else_sqlalchemy(tmp_path: Path) -> None:
    on_file = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    in_memory = await open_store("sqlite+aiosqlite://")
    try:
        assert isinstance(open_log_store(on_file), SqliteLogStore)
        assert isinstance(open_log_store(in_memory), CoreLogStore)
    finally:
        await on_file.close()
        await in_memory.close()


async def test_rows_are_stored_exactly_as_the_sqlalchemy_path_stores_them(tmp_path: Path, open_writer: Opener) -> None:
    _, core = await open_writer("core", name="core.db")
    _, thread = await open_writer("thread", name="thread.db")
    exchanges = sample_exchanges()
    for writer in (core, thread):
        for part in (exchanges[:6], exchanges[6:]):  # two batches: the rollups of a minute add up
            await writer.write(*batch(part))
    expected, got = dump(tmp_path / "core.db"), dump(tmp_path / "thread.db")
    assert len(got["logs"]) == len(exchanges) and len(got["log_bodies"]) == len(exchanges) - 1
    assert got == expected
    logs = {r[0]: r for r in got["logs"]}
    assert "sk-secret" not in repr(got)  # redacted before it reaches either store
    assert any("'null', 'text'" in repr(r) for r in logs.values())  # JSON None stored as SQLAlchemy does


async def test_a_batch_is_one_insert_per_table(tmp_path: Path) -> None:
    """One statement per table per batch, not one per row: each statement costs a GIL hand-off."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    log_store = SqliteLogStore(str(tmp_path / "one.db"), store.engine.dialect)
    writer = LogWriter(store, lambda a, g: None, log_store)
    statements: list[str] = []
    try:
        await writer.write(*batch([exchange(n) for n in range(200)]))  # opens the connection
        await log_store._call(lambda: log_store._conn.set_trace_callback(statements.append))
        await writer.write(*batch([exchange(n) for n in range(200, 400)]))
    finally:
        await writer.close()
        await store.close()
    # The trace repeats a statement once per trigger run; consecutive repeats are one execution.
    runs = [s for i, s in enumerate(statements) if s.startswith("INSERT") and (i == 0 or statements[i - 1] != s)]
    tables = ["logs", "log_bodies", "log_rollups", "log_rollups_hourly"]
    assert [s.split(" (")[0] for s in runs] == [f"INSERT INTO {table}" for table in tables]
    assert all(f"'{n:026d}'" in runs[0] for n in range(200, 400))  # the trace shows the bound values
    assert count(tmp_path / "one.db", "SELECT count(*) FROM logs") == 400


async def test_a_batch_over_the_variable_limit_is_split_and_stored_whole(tmp_path: Path, open_writer: Opener) -> None:
    _, core = await open_writer("core", name="core.db")
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'small.db'}")
    small = LogWriter(store, lambda a, g: None, SqliteLogStore(str(tmp_path / "small.db"), store.engine.dialect, max_variables=80))
    try:
        exchanges = sample_exchanges() * 1
        for writer in (core, small):
            await writer.write(*batch(exchanges))
        assert dump(tmp_path / "small.db") == dump(tmp_path / "core.db")
    finally:
        await small.close()
        await store.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_known_ids_are_the_stored_ones(tmp_path: Path, open_writer: Opener, kind: str) -> None:
    _, writer = await open_writer(kind)
    await writer.write(*batch([exchange(n) for n in range(3)]))
    asked = [f"{n:026d}" for n in range(1, 6)]
    assert await writer.known_ids(asked) == {f"{1:026d}", f"{2:026d}"}
    assert await writer.known_ids([]) == set()


# -- retention ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_stop_inserting_refuses_rows_and_their_bodies(tmp_path: Path, open_writer: Opener, kind: str) -> None:
    _, writer = await open_writer(kind, lambda a, g: (5, "STOP_INSERTING") if g == "default" else None)
    await writer.write(*batch([exchange(n) for n in range(4)]))
    await writer.write(*batch([exchange(n) for n in range(4, 8)] + [exchange(100, gateway="other")]))
    db = tmp_path / "logs.db"
    assert count(db, "SELECT count(*) FROM logs WHERE gateway_id = 'default'") == 5
    assert count(db, "SELECT count(*) FROM logs WHERE gateway_id = 'other'") == 1
    assert count(db, "SELECT count(*) FROM log_bodies") == 6
    assert count(db, "SELECT sum(requests) FROM log_rollups") == 9  # analytics still see every request
    assert writer.refused[("local", "default")] == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_delete_oldest_keeps_the_newest(tmp_path: Path, open_writer: Opener, kind: str) -> None:
    _, writer = await open_writer(kind, lambda a, g: (5, "DELETE_OLDEST"))
    for start in range(0, 12, 3):
        await writer.write(*batch([exchange(n) for n in range(start, start + 3)]))
    conn = sqlite3.connect(tmp_path / "logs.db")
    ids = [r[0] for r in conn.execute("SELECT id FROM logs ORDER BY id")]
    bodies = conn.execute("SELECT count(*) FROM log_bodies").fetchone()[0]
    conn.close()
    assert ids == [f"{n:026d}" for n in range(7, 12)] and bodies == 5
    assert writer.trimmed == 7


@pytest.mark.parametrize("kind", KINDS)
async def test_counts_are_reread_after_forget(tmp_path: Path, open_writer: Opener, kind: str) -> None:
    store, writer = await open_writer(kind, lambda a, g: (3, "STOP_INSERTING"))
    await writer.write(*batch([exchange(n) for n in range(3)]))
    conn = sqlite3.connect(tmp_path / "logs.db")
    conn.execute("DELETE FROM logs")
    conn.commit()
    conn.close()
    writer.forget_counts()
    await writer.write(*batch([exchange(n) for n in range(10, 13)]))
    assert count(tmp_path / "logs.db", "SELECT count(*) FROM logs") == 3 and writer.refused == {}


@pytest.mark.parametrize("kind", KINDS)
async def test_search_backlog_is_indexed_by_the_writer(tmp_path: Path, open_writer: Opener, kind: str) -> None:
    _, writer = await open_writer(kind)
    await writer.write(*batch([exchange(0), exchange(1, request_body=b'{"q":"zebracorn"}')]))
    assert count(tmp_path / "logs.db", "SELECT count(*) FROM fts_pending") == 2
    assert await writer.index_pending(1) == 1
    assert await writer.index_pending() == 1
    assert await writer.index_pending() == 0
    db = tmp_path / "logs.db"
    assert count(db, "SELECT count(*) FROM fts_pending") == 0
    assert count(db, "SELECT count(*) FROM logs_fts WHERE logs_fts MATCH 'zebracorn'") == 1


# -- failures and closing -------------------------------------------------------------------------


def fail_writes_on(path: Path, table: str) -> None:
    """Make inserts into ``table`` fail while ``write_switch`` has a row (a store refusing writes)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        f"CREATE TABLE write_switch (x); INSERT INTO write_switch VALUES (1);"
        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN EXISTS (SELECT 1 FROM write_switch) "
        f"BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
    )
    conn.close()


def heal(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM write_switch")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("table", ["logs", "log_bodies", "log_rollups", "log_rollups_hourly"])
async def test_a_failing_batch_is_retried_whole_without_loss(tmp_path: Path, open_writer: Opener, table: str) -> None:
    _, writer = await open_writer("thread")
    db = tmp_path / "logs.db"
    fail_writes_on(db, table)
    pipe = LogPipe(LogSettings(batch_size=10, retry_delay=0.01, linger=0), writer.write, PRICING)
    pipe.start()
    for n in range(25):
        assert pipe.submit(exchange(n))
    while pipe.stats().write_failures < 3:
        await asyncio.sleep(0.01)
    # a batch that failed half-way left nothing behind: the transaction was rolled back
    assert count(db, "SELECT count(*) FROM logs") == 0 and count(db, "SELECT count(*) FROM log_bodies") == 0
    assert "disk on fire" in (pipe.stats().last_error or "")
    heal(db)
    await pipe.close()
    assert count(db, "SELECT count(*) FROM logs") == 25 and count(db, "SELECT count(DISTINCT id) FROM logs") == 25
    assert count(db, "SELECT count(*) FROM log_bodies") == 25
    assert count(db, "SELECT sum(requests) FROM log_rollups") == 25  # rollups counted once, not per attempt
    assert count(db, "SELECT sum(requests) FROM log_rollups_hourly") == 25
    assert pipe.stats().written == 25 and pipe.stats().dropped == 0


async def test_close_flushes_the_queue_then_closes_the_connection(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    store = await open_store(f"sqlite+aiosqlite:///{db}")
    writer = LogWriter(store, lambda a, g: None)
    pipe = LogPipe(LogSettings(batch_size=7, linger=5.0), writer.write, PRICING)
    pipe.start()
    for n in range(50):
        pipe.submit(exchange(n))
    await pipe.close()
    await writer.close()
    await store.close()
    assert count(db, "SELECT count(*) FROM logs") == 50
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0  # every connection closed
