"""The log pipeline: nothing lost under load, nothing lost while the store fails within the bound."""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import aiohttp

from proxy_core.config import LogSettings
from proxy_core.costs import load_pricing
from proxy_core.events import EventBus
from proxy_core.exchange import Exchange
from proxy_core.logpipe import LogPipe
from proxy_core.policy import RequestPolicy
from proxy_core.providers.registry import FAMILIES
from proxy_core.server import PIPE
from tests.conftest import GatewayFactory
from tests.integration.helpers import sqlite_write_lock, stored_logs


def exchange(n: int, body: bytes = b"{}") -> Exchange:
    return Exchange(
        id=f"{n:026d}",
        account_id="local",
        gateway_id="default",
        started_ms=1_700_000_000_000 + n,
        provider="openai",
        family=FAMILIES["openai"],
        path="/chat/completions",
        method="POST",
        request_type="provider",
        policy=RequestPolicy(),
        collect_bodies=True,
        request_body=body,
        status_code=200,
    )


class FlakyStore:
    """Refuses every write until ``heal()``; remembers what it finally accepted."""

    def __init__(self) -> None:
        self.healthy = False
        self.attempts = 0
        self.rows: list[dict[str, Any]] = []

    async def write(self, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]]) -> None:
        self.attempts += 1
        if not self.healthy:
            raise ConnectionError("database is down")
        self.rows.extend(rows)


async def test_failing_store_loses_nothing_within_the_bound_and_counts_the_rest() -> None:
    store = FlakyStore()
    settings = LogSettings(queue_max_entries=100, batch_size=10, retry_delay=0.01, overload="drop")
    bus = EventBus()
    live = bus.subscribe()
    pipe = LogPipe(settings, store.write, load_pricing(), bus)
    pipe.start()
    accepted = [pipe.submit(exchange(n)) for n in range(150)]
    assert accepted.count(True) == 100 and accepted.count(False) == 50
    while store.attempts < 3:  # the first batch is being retried with backoff
        await asyncio.sleep(0.01)
    stats = pipe.stats()
    assert stats.queued == 100 and stats.dropped == 50 and stats.written == 0
    assert stats.write_failures >= 3 and "database is down" in (stats.last_error or "")
    assert stats.failing_since_ms is not None
    store.healthy = True
    await pipe.flush()
    assert pipe.stats().last_error is None and pipe.stats().failing_since_ms is None  # healed: said so
    assert [row["id"] for row in store.rows] == [f"{n:026d}" for n in range(100)]
    assert pipe.stats().written == 100 and pipe.stats().queued == 0
    assert len(live.drain()) == 100  # each published once, even though its batch was retried
    await pipe.close()


async def test_byte_bound_drops_large_exchanges() -> None:
    store = FlakyStore()
    settings = LogSettings(queue_max_entries=1000, queue_max_bytes=10_000, batch_size=10, retry_delay=0.01, overload="drop")
    pipe = LogPipe(settings, store.write, load_pricing())
    assert pipe.submit(exchange(1, b"x" * 6000))
    assert not pipe.submit(exchange(2, b"x" * 6000))
    assert pipe.stats().dropped == 1
    store.healthy = True
    pipe.start()
    await pipe.close()
    assert [row["id"] for row in store.rows] == [f"{1:026d}"]


async def test_backpressure_holds_new_requests_until_the_writer_makes_room() -> None:
    store = FlakyStore()
    settings = LogSettings(queue_max_entries=10, batch_size=5, retry_delay=0.01, backpressure_timeout=600)
    pipe = LogPipe(settings, store.write, load_pricing())
    pipe.start()
    assert all(pipe.submit(exchange(n)) for n in range(10))
    assert not pipe.has_room
    held = asyncio.create_task(pipe.wait_for_room())
    while store.attempts < 2 or pipe.stats().waiting < 1:  # the store refuses; the request waits
        await asyncio.sleep(0.01)
    assert not held.done()
    # Requests already in flight when the queue filled still keep their logs (up to twice the bound).
    assert all(pipe.submit(exchange(n)) for n in range(10, 20))
    assert not pipe.submit(exchange(20)) and pipe.stats().dropped == 1
    store.healthy = True
    assert await held is True
    await pipe.flush()
    assert len(store.rows) == 20 and pipe.stats().waiting == 0 and pipe.stats().refused == 0
    await pipe.close()


async def test_backpressure_refuses_a_request_when_the_queue_stays_full() -> None:
    store = FlakyStore()
    settings = LogSettings(queue_max_entries=3, batch_size=5, retry_delay=0.01, backpressure_timeout=0.05)
    pipe = LogPipe(settings, store.write, load_pricing())
    pipe.start()
    for n in range(3):
        pipe.submit(exchange(n))
    assert await pipe.wait_for_room() is False
    stats = pipe.stats()
    assert stats.refused == 1 and stats.waiting == 0 and stats.dropped == 0
    store.healthy = True
    await pipe.close()
    assert len(store.rows) == 3


async def test_drop_mode_never_holds_a_request() -> None:
    pipe = LogPipe(LogSettings(queue_max_entries=1, overload="drop"), FlakyStore().write, load_pricing())
    assert pipe.submit(exchange(0)) and not pipe.has_room
    assert await pipe.wait_for_room() is True
    assert not pipe.submit(exchange(1)) and pipe.stats().dropped == 1


async def test_close_flushes_everything_queued() -> None:
    store = FlakyStore()
    store.healthy = True
    pipe = LogPipe(LogSettings(batch_size=7), store.write, load_pricing())
    pipe.start()
    for n in range(50):
        pipe.submit(exchange(n))
    await pipe.close()
    assert len(store.rows) == 50
    assert not pipe.submit(exchange(99))  # closed: refused and counted
    assert pipe.stats().dropped == 1


async def test_two_thousand_concurrent_requests_make_two_thousand_logs(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    url = f"{gateway.gateway_url}/openai/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "count me"}]}
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> str:
            async with session.post(url, json=body, headers={"cf-aig-event-id": f"e{i}"}) as resp:
                assert resp.status == 200
                await resp.read()
                return resp.headers["cf-aig-log-id"]

        ids = await asyncio.gather(*(one(i) for i in range(2000)))
    logs = await stored_logs(gateway)
    assert len(logs) == 2000
    assert {log["id"] for log in logs} == set(ids)
    assert {log["event_id"] for log in logs} == {f"e{i}" for i in range(2000)}
    assert gateway.app[PIPE].stats().dropped == 0


async def test_a_full_queue_holds_then_refuses_new_requests_and_drops_no_log(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(logs={"queue_max_entries": 5, "backpressure_timeout": 0.2, "retry_delay": 0.05})
    url = f"{gateway.gateway_url}/openai/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hold me"}]}
    async with sqlite_write_lock(gateway.settings.data_dir / "aigw.db"):  # the store stops taking writes
        async with aiohttp.ClientSession() as session:
            for _ in range(5):
                async with session.post(url, json=body) as resp:
                    assert resp.status == 200
            async with session.post(url, json=body) as resp:  # no room: held, then refused
                assert resp.status == 503 and resp.headers["Retry-After"] == "1"
                assert (await resp.json())["error"][0]["code"] == 2019
            stats = gateway.app[PIPE].stats()
            assert stats.refused == 1 and stats.dropped == 0 and stats.queued == 5
    assert len(await stored_logs(gateway)) == 5
