"""An attached console reads the gateway's log pipeline from ``/healthz``: old and new formats, one
request per poll however many callers, and a clear error when the gateway does not answer."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from console.attach import AttachedLink, AttachError, pipe_stats
from proxy_core.logpipe import PipeStats
from proxy_core.runtime_file import RuntimeInfo

OLD_LOGS = {"queued": 4, "written": 120, "dropped": 2, "write_failures": 1, "last_error": "OperationalError: locked"}
"""``/healthz`` ``"logs"`` of a gateway from before the pipeline reported more."""
NEW_LOGS = {
    **OLD_LOGS, "queued_bytes": 8192, "failing_since_ms": 1_764_300_000_000, "overload": "drop", "waiting": 3,
    "refused": 5, "spooled": 17, "queue_max_entries": 50_000,
}  # fmt: skip


def test_old_format_reads_with_defaults() -> None:
    assert pipe_stats(OLD_LOGS) == PipeStats(
        queued=4, queued_bytes=0, written=120, dropped=2, write_failures=1, last_error="OperationalError: locked",
        failing_since_ms=None, overload="backpressure", waiting=0, refused=0, spooled=0, queue_max_entries=0,
    )  # fmt: skip


def test_new_format_reads_every_field() -> None:
    assert pipe_stats(NEW_LOGS) == PipeStats(
        queued=4, queued_bytes=8192, written=120, dropped=2, write_failures=1, last_error="OperationalError: locked",
        failing_since_ms=1_764_300_000_000, overload="drop", waiting=3, refused=5, spooled=17, queue_max_entries=50_000,
    )  # fmt: skip


def test_healthy_empty_and_malformed_values() -> None:
    healthy = pipe_stats({**NEW_LOGS, "last_error": None, "failing_since_ms": None})
    assert healthy.last_error is None and healthy.failing_since_ms is None
    assert pipe_stats({}) == PipeStats(0, 0, 0, 0, 0, None)
    odd = pipe_stats({"queued": "many", "dropped": True, "waiting": 2.0, "overload": 7, "last_error": ""})
    assert (odd.queued, odd.dropped, odd.waiting, odd.overload, odd.last_error) == (0, 0, 2, "backpressure", None)


class FakeGateway:
    """``/healthz`` and an event stream that stays open, counting the health requests."""

    def __init__(self) -> None:
        self.logs: Any = NEW_LOGS
        self.requests = 0
        self.hold: asyncio.Event | None = None
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/client/v4/accounts/local/ai-gateway/events", self.events)
        self.server = TestServer(app)

    async def healthz(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.logs is None:
            return web.Response(status=500, text="oops")
        return web.json_response({"status": "ok", "logs": self.logs})

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def link(gateway: FakeGateway) -> AsyncIterator[AttachedLink]:
    base = str(gateway.server.make_url("")).rstrip("/")
    info = RuntimeInfo(pid=1, base_url=base, account_id="local", started_at=0, headless=True)
    link = AttachedLink(info, "admin-token")
    await link.connect()
    yield link
    await link.close()


async def test_log_health_from_healthz(gateway: FakeGateway, link: AttachedLink) -> None:
    assert await link.log_health() == pipe_stats(NEW_LOGS)
    assert gateway.requests == 1


async def test_one_request_per_poll_however_many_callers(gateway: FakeGateway, link: AttachedLink) -> None:
    gateway.hold = asyncio.Event()
    callers = [asyncio.create_task(link.log_health()) for _ in range(3)]
    while gateway.requests == 0:  # the first caller's request has reached the gateway
        await asyncio.sleep(0.01)
    gateway.hold.set()
    answers = await asyncio.gather(*callers)
    assert answers == [pipe_stats(NEW_LOGS)] * 3
    assert await link.log_health() == pipe_stats(NEW_LOGS)  # fresh: reused
    assert gateway.requests == 1


async def test_a_cancelled_caller_does_not_cancel_the_others(gateway: FakeGateway, link: AttachedLink) -> None:
    gateway.hold = asyncio.Event()
    first, second = asyncio.create_task(link.log_health()), asyncio.create_task(link.log_health())
    while gateway.requests == 0:
        await asyncio.sleep(0.01)
    first.cancel()
    gateway.hold.set()
    assert await second == pipe_stats(NEW_LOGS)
    assert first.cancelled()


@pytest.mark.parametrize("logs", [None, "not an object"])
async def test_a_gateway_that_cannot_say_raises(gateway: FakeGateway, link: AttachedLink, logs: Any) -> None:
    gateway.logs = logs
    with pytest.raises(AttachError, match="/healthz did not say"):
        await link.log_health()


async def test_not_connected_raises() -> None:
    link = AttachedLink(RuntimeInfo(1, "http://127.0.0.1:9", "local", 0, True), "t")
    with pytest.raises(AttachError, match="not connected"):
        await link.log_health()
