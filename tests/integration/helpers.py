"""Reading what the gateway stored, for assertions; a one-route upstream to point it at."""

from __future__ import annotations

from contextlib import asynccontextmanager
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
