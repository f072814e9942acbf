"""Reading what the gateway stored, for assertions; a one-route upstream to point it at; reaching into its
SQLite file from outside, as another process would."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy import select

from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE
from proxy_core.store.models import Log, LogBody


async def stored_logs(gateway: RunningGateway) -> list[dict[str, Any]]:
    """Every stored log row, oldest first, after the queue has been flushed."""
    await gateway.app[PIPE].flush()
    async with gateway.store.sessions() as session:
        rows = (await session.execute(select(Log.__table__).order_by(Log.id))).mappings().all()
    return [dict(row) for row in rows]


async def stored_body(gateway: RunningGateway, log_id: str) -> dict[str, Any] | None:
    await gateway.app[PIPE].flush()
    async with gateway.store.sessions() as session:
        row = (await session.execute(select(LogBody.__table__).where(LogBody.log_id == log_id))).mappings().first()
    return dict(row) if row else None


async def only_log(gateway: RunningGateway) -> dict[str, Any]:
    logs = await stored_logs(gateway)
    assert len(logs) == 1, logs
    return logs[0]


@asynccontextmanager
async def serving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/v1/chat/completions"
) -> AsyncIterator[str]:
    """A one-route upstream (``POST path``) on a loopback port; yields its base URL with ``/v1``."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


LOCK_WAIT_S = 60  # how long a test waits for the gateway's own writers to let go of the SQLite file


def _write_connection(db_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(db_path, timeout=LOCK_WAIT_S, isolation_level=None, check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")  # the write lock first, so the busy wait applies (no stale-snapshot upgrade)
    return db


async def sqlite_write(db_path: Path, *statements: str) -> None:
    """Runs statements in one write transaction, off the event loop.

    The gateway's async store runs on this loop; waiting for its lock on the loop thread would stop the very
    coroutine that has to release it.
    """

    def run() -> None:
        with closing(_write_connection(db_path)) as db:
            for statement in statements:
                db.execute(statement)
            db.execute("COMMIT")

    await asyncio.to_thread(run)


@asynccontextmanager
async def sqlite_write_lock(db_path: Path) -> AsyncIterator[None]:
    """Holds the SQLite write lock, as a busy neighbour process would, until the block ends."""
    db = await asyncio.to_thread(_write_connection, db_path)
    try:
        yield
    finally:
        await asyncio.to_thread(db.execute, "ROLLBACK")
        db.close()
