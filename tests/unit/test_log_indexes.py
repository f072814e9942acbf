"""Which index a page of logs reads, for the filters the indexes of ``logs`` exist for, and the log
writer refreshing SQLite's statistics so the planner keeps choosing them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import event

from proxy_core.services.logs import LogService
from proxy_core.store.engine import Store, open_store
from proxy_core.store.filters import Paging, parse_text
from proxy_core.store.logwriter import CoreLogStore, LogWriter
from tests.unit.log_store_helpers import log_row
from tests.unit.test_log_totals import T0

HOUR = 3_600_000


def mixed_logs(first: int, count: int) -> list[dict[str, Any]]:
    return [
        log_row(n, T0 + n * 1_000, provider=("openai", "anthropic", "groq")[n % 3], model=f"model-{n % 5}",
                event_id=f"evt-{n}" if n % 50 == 0 else None, gateway_id="other" if n % 10 == 0 else "default")
        for n in range(first, first + count)
    ]  # fmt: skip


def stat_rows(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return db.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'logs'").fetchone()[0] if "sqlite_stat1" in tables else 0
    finally:
        db.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}")
    writer = LogWriter(opened, lambda a, g: None)
    await writer.write(mixed_logs(0, 3_000), [])
    await writer.close()
    yield opened
    await opened.close()


async def plan_of_page(store: Store, path: Path, gateway_id: str | None, text: str) -> str:
    """The query plan of the page query :meth:`LogService.list` runs, as SQLite explains it."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await LogService(store, "local").list(gateway_id, parse_text(text, now_ms=T0 + 3_000_000), Paging(), count=False)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    (statement, parameters), = seen
    db = sqlite3.connect(path)
    try:
        return " / ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    finally:
        db.close()


@pytest.mark.parametrize(
    ("gateway_id", "text", "index"),
    [
        ("default", "", "ix_logs_gateway_created"),
        ("default", "status:error since:1h", "ix_logs_gateway_created"),
        ("default", "meta.user=alice feedback:1", "ix_logs_gateway_created"),
        (None, "", "ix_logs_account_created"),
        ("default", "provider:anthropic", "ix_logs_gateway_provider_created"),
        ("default", "provider:nope", "ix_logs_gateway_provider_created"),
        ("default", "model:model-3 cached:true", "ix_logs_gateway_model_created"),
        ("default", "event:evt-100", "ix_logs_event_id"),
    ],
)
async def test_a_page_reads_the_index_meant_for_its_filter(
    store: Store, tmp_path: Path, gateway_id: str | None, text: str, index: str
) -> None:
    plan = await plan_of_page(store, tmp_path / "logs.db", gateway_id, text)
    assert f"USING INDEX {index} " in plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan or index == "ix_logs_event_id"  # only its few rows are sorted


@pytest.mark.parametrize("kind", ["thread", "core"])
async def test_the_writer_refreshes_the_statistics_as_the_logs_grow(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "grow.db"
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    writer = LogWriter(store, lambda a, g: None, CoreLogStore(store) if kind == "core" else None)
    try:
        await writer.write(mixed_logs(0, 999), [])
        assert stat_rows(path) == 0  # a small table is fast whatever the plan
        await writer.write(mixed_logs(999, 1), [])
        assert stat_rows(path) > 0
        db = sqlite3.connect(path)
        db.execute("DELETE FROM sqlite_stat1")
        db.commit()
        db.close()
        await writer.write(mixed_logs(1_000, 999), [])
        assert stat_rows(path) == 0  # not again until the logs have doubled
        await writer.write(mixed_logs(1_999, 1), [])
        assert stat_rows(path) > 0
    finally:
        await writer.close()
        await store.close()
