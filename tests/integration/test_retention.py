"""Log retention: each gateway's log limit with STOP_INSERTING and DELETE_OLDEST."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from proxy_core.store.engine import open_store
from proxy_core.store.logwriter import LogWriter, rollup_rows
from proxy_core.store.models import Log, LogBody, LogRollup
from tests.unit.log_store_helpers import log_row


def row(n: int, gateway: str = "default") -> dict:
    return log_row(n, 1_800_000_000_000 + n, gateway_id=gateway, body_stored=True)


def body(n: int) -> dict:
    return {"log_id": f"{n:026d}", "request_headers": {}, "request_body": b"{}", "response_headers": {},
            "response_body": b"{}"}  # fmt: skip


async def ids(store) -> list[str]:
    async with store.engine.connect() as conn:
        return [r[0] for r in await conn.execute(select(Log.id).order_by(Log.id))]


async def test_stop_inserting_refuses_and_counts(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/r.db")
    writer = LogWriter(store, lambda a, g: (5, "STOP_INSERTING") if g == "default" else None)
    await writer.write([row(n) for n in range(4)], [body(n) for n in range(4)])
    await writer.write([row(n) for n in range(4, 8)], [body(n) for n in range(4, 8)])
    await writer.write([row(100, "other")], [body(100)])
    assert await ids(store) == [f"{n:026d}" for n in (0, 1, 2, 3, 4, 100)]
    assert writer.refused[("local", "default")] == 3
    async with store.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(LogBody)) == 6
        # analytics still count every request, stored or not
        assert await conn.scalar(select(func.sum(LogRollup.requests))) == 9
    await store.close()


async def test_delete_oldest_keeps_the_newest(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/r.db")
    writer = LogWriter(store, lambda a, g: (5, "DELETE_OLDEST"))
    for start in range(0, 12, 3):
        await writer.write([row(n) for n in range(start, start + 3)], [body(n) for n in range(start, start + 3)])
    assert await ids(store) == [f"{n:026d}" for n in range(7, 12)]
    assert writer.trimmed == 7
    async with store.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(LogBody)) == 5  # bodies go with their rows
    await store.close()


async def test_counts_are_reread_after_deletes_elsewhere(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/r.db")
    writer = LogWriter(store, lambda a, g: (3, "STOP_INSERTING"))
    await writer.write([row(n) for n in range(3)], [])
    async with store.engine.begin() as conn:
        await conn.execute(Log.__table__.delete())
    writer.forget_counts()
    await writer.write([row(n) for n in range(10, 13)], [])
    assert len(await ids(store)) == 3 and writer.refused == {}
    await store.close()


def test_rollups_group_by_minute_provider_model_status_and_cache() -> None:
    rows = [row(0), {**row(1), "status_code": 500, "success": False}, {**row(2), "cached": True, "cost": 0.0}]
    rollups = {(r["status_class"], r["cached"]): r for r in rollup_rows(rows)}
    assert rollups[(2, False)]["requests"] == 1 and rollups[(5, False)]["errors"] == 1
    assert rollups[(2, True)]["cost"] == 0.0
