"""PostgreSQL's body search: the trigram indexes of migration 0009 are what the planner uses, the
search finds exactly the bodies holding the text (ASCII case folded, bytes as bytes), and the
new migrations go down and up again on both dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from proxy_core.store.filter_sql import compile_filter
from proxy_core.store.filters import LogFilter
from proxy_core.store.migrate import alembic_config, upgrade_to_head
from proxy_core.store.models import Log, LogBody
from tests.integration.postgres import pg_server, pg_url  # noqa: F401 (fixtures)

TRIGRAM_INDEXES = {"ix_log_bodies_request_trgm", "ix_log_bodies_response_trgm"}
BODIES: dict[str, tuple[bytes | None, bytes | None]] = {
    "a": (b'{"prompt": "An ERROR 42 happened"}', b"ok"),
    "b": ("{\"prompt\": \"caf\u00e9 au lait\"}".encode(), None),
    "c": (b"binary\x00with a NUL then error 42", b""),
    "d": (b'{"path": "C:\\\\temp\\\\x"}', b"100% sure, a_b"),
    "e": (b"nothing here", b"Error 4 2"),
    "f": (None, b"\xff\xfe not utf-8 but error 42"),
}


def _log(log_id: str) -> dict[str, Any]:
    return {"id": log_id, "account_id": "local", "gateway_id": "default", "created_at": 1_000, "provider": "openai",
            "model": "m", "model_type": "text", "path": "/chat", "request_type": "provider", "method": "POST",
            "status_code": 200, "success": True, "cached": False, "step": 0, "duration": 1, "custom_cost": False,
            "feedback": 0, "request_size": 0, "response_size": 0, "body_stored": True, "body_truncated": False,
            "streamed": False}  # fmt: skip


def _holds(body: bytes | None, needle: str) -> bool:
    """The oracle: ASCII-folded byte substring; exact bytes in a body with NUL (text cannot hold one)."""
    if body is None:
        return False
    if b"\x00" in body:
        return needle.encode() in body
    fold = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
    return needle.encode().translate(fold) in body.translate(fold)


async def _migrated(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to_head)
    return engine


@pytest.mark.parametrize("needle", ["error 42", "ERROR", "caf\u00e9", "c:\\\\temp", "100%", "a_b", "nul then", "zzz"])
async def test_search_finds_exactly_the_bodies_holding_the_text(pg_url: str, needle: str) -> None:
    engine = await _migrated(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(Log.__table__.insert(), [_log(i) for i in BODIES])
            await conn.execute(LogBody.__table__.insert(), [
                {"log_id": i, "request_body": req, "response_body": resp} for i, (req, resp) in BODIES.items()
            ])  # fmt: skip
            query = select(Log.id).where(*compile_filter(LogFilter(search=needle)))
            found = {row[0] for row in await conn.execute(query)}
    finally:
        await engine.dispose()
    assert found == {i for i, bodies in BODIES.items() if any(_holds(body, needle) for body in bodies)}


async def test_the_planner_answers_a_search_from_the_trigram_indexes(pg_url: str) -> None:
    engine = await _migrated(pg_url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(lambda sync: {i["name"] for i in inspect(sync).get_indexes("log_bodies")})
            await conn.execute(text("SET enable_seqscan = off"))  # an empty table would be scanned anyway
            query = select(Log.id).where(*compile_filter(LogFilter(search="error 42")))
            compiled = query.compile(conn.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in await conn.execute(text(f"EXPLAIN {compiled}")))
    finally:
        await engine.dispose()
    assert TRIGRAM_INDEXES <= indexes
    assert all(name in plan for name in TRIGRAM_INDEXES), plan


async def _columns_and_indexes(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: (
            {c["name"] for c in inspect(sync).get_columns("logs")},
            {i["name"] for i in inspect(sync).get_indexes("log_bodies")},
        ))  # fmt: skip


async def _down_and_up(url: str) -> list[tuple[set[str], set[str]]]:
    engine = await _migrated(url)
    seen = [await _columns_and_indexes(engine)]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0007"))
        seen.append(await _columns_and_indexes(engine))
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to_head)
        seen.append(await _columns_and_indexes(engine))
    finally:
        await engine.dispose()
    return seen


async def test_migrations_0008_and_0009_go_down_and_up_on_postgresql(pg_url: str) -> None:
    head, down, again = await _down_and_up(pg_url)
    assert "worker_id" in head[0] and TRIGRAM_INDEXES <= head[1]
    assert "worker_id" not in down[0] and not TRIGRAM_INDEXES & down[1]
    assert again == head


async def test_migrations_0008_and_0009_go_down_and_up_on_sqlite(tmp_path: Path) -> None:
    head, down, again = await _down_and_up(f"sqlite+aiosqlite:///{tmp_path / 'aigw.db'}")
    assert "worker_id" in head[0] and not TRIGRAM_INDEXES & head[1]  # trigram indexes are PostgreSQL's
    assert "worker_id" not in down[0]
    assert again == head
