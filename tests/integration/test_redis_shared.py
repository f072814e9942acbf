"""Two gateways on one PostgreSQL store and one Redis: rate limits counted once for both, a cache
entry written through one served by the other, a token revoked through one refused by the other
on its next request, one events stream showing the requests of both, and Redis killed mid-load
without a single 5xx, then recovery without a restart.

Each gateway has its own app, store engine, directory, limiter, cache memory, event bus and Redis
connections (as two processes would; only the interpreter is shared, to keep the suite fast on a
loaded machine); one test runs two real ``aigw-console --headless`` processes. The gateways' store polls are stopped where a test proves that a change travels
through Redis, so a 3 s poll cannot make it pass.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import orjson
import pytest

from proxy_core.runner import RunningGateway, start_gateway
from proxy_core.server import CACHE, DIRECTORY, FORWARDER, SERVICES
from proxy_core.services import Actor
from tests.conftest import Upstream, make_settings, mock_providers
from tests.integration.postgres import pg_server, pg_url
from tests.redis_server import RedisServer, free_port

OPERATOR = Actor("operator", "API")
ADMIN = "redis-shared-admin-token"
__all__ = ["pg_server", "pg_url"]  # fixtures, shared with the other PostgreSQL tests
ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
"""Longest any wait on state here may take before the test fails (a loaded CI machine is slow)."""


@pytest.fixture
async def pair(
    tmp_path: Path, upstream: Upstream, pg_url: str, redis_settings: dict[str, Any]
) -> AsyncIterator[list[RunningGateway]]:
    # A patient request-path timeout: counting must be exact here even when the machine is busy.
    redis = {**redis_settings, "timeout": 2.0, "reconnect_max_delay": 0.5, "ack_timeout": DEADLINE}
    started = []
    for n in range(2):
        settings = make_settings(
            tmp_path / f"gw{n}", mock_providers(upstream), store={"url": pg_url}, redis=redis,
            api={"admin_token": ADMIN},
        )  # fmt: skip
        started.append(await start_gateway(settings, worker_id=f"gw{n}"))
    yield started
    for gateway in started:
        await gateway.stop()


async def until(condition: Any, what: str) -> None:
    """Wait on state: poll ``condition()`` (sync or async) until it holds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def chat(session: aiohttp.ClientSession, gateway: RunningGateway, text: str, **headers: str) -> aiohttp.ClientResponse:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=headers) as response:
        await response.read()
        return response


async def health(session: aiohttp.ClientSession, gateway: RunningGateway) -> dict[str, Any]:
    async with session.get(f"{gateway.base_url}/healthz") as response:
        return orjson.loads(await response.read())


async def stop_polling(*gateways: RunningGateway) -> None:
    for gateway in gateways:
        await gateway.app[DIRECTORY].close()


async def test_fifty_per_minute_means_fifty_over_both_gateways(pair: list[RunningGateway]) -> None:
    first, second = pair
    await stop_polling(second)
    limit = {"rate_limiting_limit": 50, "rate_limiting_interval": 60, "rate_limiting_technique": "sliding"}
    await first.app[SERVICES].gateways.update("default", limit, OPERATOR)
    assert second.app[DIRECTORY].get("local", "default").rate_limiting_limit == 50  # heard through Redis
    gate = asyncio.Semaphore(16)

    async def one(n: int, session: aiohttp.ClientSession) -> int:
        async with gate:
            return (await chat(session, pair[n % 2], f"request {n}")).status

    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(*(one(n, session) for n in range(200)))
    assert statuses.count(200) == 50 and statuses.count(429) == 150


async def test_an_answer_cached_through_one_gateway_is_a_hit_through_the_other(pair: list[RunningGateway]) -> None:
    first, second = pair
    await first.app[SERVICES].gateways.update("default", {"cache_ttl": 300}, OPERATOR)
    async with aiohttp.ClientSession() as session:
        miss = await chat(session, first, "cache me once")
        assert miss.headers["cf-aig-cache-status"] == "MISS"
        await first.app[FORWARDER].drain()  # the write-back, which runs after the answer went out
        hit = await chat(session, second, "cache me once")
    assert hit.status == 200 and hit.headers["cf-aig-cache-status"] == "HIT"
    assert second.app[CACHE].shared.hits == 1  # from Redis, not the table


async def test_an_entry_redis_lost_is_shared_again_from_the_table(pair: list[RunningGateway]) -> None:
    first, second = pair
    await first.app[SERVICES].gateways.update("default", {"cache_ttl": 300}, OPERATOR)
    link = first.app[CACHE].shared.link
    async with aiohttp.ClientSession() as session:
        await chat(session, first, "remember me")
        await first.app[FORWARDER].drain()
        names = await link.call(lambda c: c.keys(link.key("cache", "*")), timeout=5)
        assert len(names) == 1
        await link.call(lambda c: c.delete(*names), timeout=5)  # as a Redis restart or an eviction would
        await chat(session, second, "remember me")  # memory and Redis miss: the table answers
        await second.app[CACHE].drain()  # the read, and the copy it puts back into Redis
    assert await link.call(lambda c: c.exists(*names), timeout=5) == 1


async def test_a_token_revoked_through_one_gateway_is_refused_by_the_other(pair: list[RunningGateway]) -> None:
    first, second = pair
    await stop_polling(first, second)
    services = first.app[SERVICES]
    await services.gateways.update("default", {"authentication": True}, OPERATOR)
    issued = await services.tokens.create("default", OPERATOR, "ci")
    bearer = {"cf-aig-authorization": f"Bearer {issued.secret}"}
    async with aiohttp.ClientSession() as session:
        assert (await chat(session, second, "no token")).status == 401
        assert (await chat(session, second, "with the new token", **bearer)).status == 200
        await services.tokens.revoke("default", issued.info.id, OPERATOR)
        refused = await chat(session, second, "the very next request", **bearer)
    assert refused.status == 401


async def test_one_events_stream_shows_the_requests_of_both_gateways(pair: list[RunningGateway]) -> None:
    first, second = pair
    url = f"{first.api_url}/accounts/local/ai-gateway/events"
    seen: dict[str, list[str]] = {}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, headers={"Authorization": f"Bearer {ADMIN}"}) as ws:
            served = [await chat(session, gateway, f"tail {n}") for n, gateway in enumerate(pair)]
            wanted = {response.headers["cf-aig-log-id"] for response in served}
            deadline = time.monotonic() + DEADLINE
            while not wanted <= seen.keys():
                message = await ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
                assert message.type is aiohttp.WSMsgType.TEXT, f"stream ended before both requests: {message}"
                frame = orjson.loads(message.data)
                for event in frame.get("events", []):
                    seen.setdefault(event["id"], []).append(event["worker"])
    # Each request once, tagged with the process that served it (no echo of gw0's own events).
    assert sorted(worker for log_id in wanted for worker in seen[log_id]) == ["gw0", "gw1"]


async def test_redis_killed_mid_load_costs_no_5xx_and_comes_back_without_a_restart(
    pair: list[RunningGateway], redis_server: RedisServer
) -> None:
    if not redis_server.controllable:
        pytest.skip("AIGW_TEST_REDIS_URL names a server these tests did not start and must not kill")
    first, second = pair
    limit = {"rate_limiting_limit": 100_000, "rate_limiting_interval": 60, "cache_ttl": 300}
    await first.app[SERVICES].gateways.update("default", limit, OPERATOR)
    statuses: list[int] = []
    counter = itertools.count()
    stop = asyncio.Event()

    async def client(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            n = next(counter)
            # Half repeat one prompt (cache reads through Redis), half are new (cache writes).
            statuses.append((await chat(session, pair[n % 2], "same" if n % 4 < 2 else f"new {n}")).status)

    async with aiohttp.ClientSession() as session:
        clients = [asyncio.create_task(client(session)) for _ in range(6)]
        try:
            await until(lambda: len(statuses) >= 40, "traffic before the outage")
            redis_server.kill()
            before = len(statuses)
            await until(lambda: not first.app[CACHE].shared.link.up and not second.app[CACHE].shared.link.up,
                        "both gateways to notice Redis is gone")  # fmt: skip
            await until(lambda: len(statuses) >= before + 40, "traffic during the outage")
            down = await health(session, first)
            assert down["redis"]["status"] == "down" and down["status"] == "degraded"
            assert any(reason.startswith("redis_unreachable:") for reason in down["reasons"])
            redis_server.start()  # the same port: the gateways reconnect by themselves

            async def both_ok() -> bool:
                parts = [(await health(session, gateway))["redis"] for gateway in pair]
                return all(part["status"] == "ok" for part in parts)

            await until(both_ok, "/healthz to say redis ok again on both gateways")
            during = len(statuses)
            await until(lambda: len(statuses) >= during + 40, "traffic after the recovery")
        finally:
            stop.set()
            await asyncio.gather(*clients)
        assert statuses and set(statuses) == {200}, collections.Counter(statuses)

        # Shared again: subscribed again (wait on Redis's own count), then a change travels at once.
        link = first.app[CACHE].shared.link
        channel = link.key("directory")

        async def subscribed() -> bool:
            counts = await link.call(lambda c: c.pubsub_numsub(channel), timeout=5)
            return dict(counts).get(channel.encode(), 0) == 2

        await until(subscribed, "both gateways to subscribe again")
        await stop_polling(second)
        await first.app[SERVICES].gateways.update("default", {"authentication": True}, OPERATOR)
        assert (await chat(session, second, "refused after the recovery")).status == 401


async def test_a_gateway_whose_redis_never_answers_serves_alone_and_says_so(gateway_factory: Any) -> None:
    gateway = await gateway_factory(redis={"url": f"redis://:hunter2@127.0.0.1:{free_port()}/0"})
    limit = {"rate_limiting_limit": 2, "rate_limiting_interval": 3600, "rate_limiting_technique": "fixed"}
    await gateway.app[SERVICES].gateways.update("default", limit, OPERATOR)  # not broadcast: nobody hears
    async with aiohttp.ClientSession() as session:
        statuses = [(await chat(session, gateway, f"alone {n}")).status for n in range(3)]
        body = await health(session, gateway)
    assert statuses == [200, 200, 429]  # counted by the process itself
    assert body["status"] == "degraded" and body["redis"]["status"] == "down"
    assert "hunter2" not in orjson.dumps(body).decode() and body["redis"]["url"].startswith("redis://:***@")


async def start_headless(tmp_path: Path, name: str, pg_url: str, redis_settings: dict[str, Any]) -> tuple[asyncio.subprocess.Process, str]:
    """``aigw-console --headless --demo`` as a real process on the shared store and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_")}
    env.update({
        "AIGW_DATA_DIR": str(tmp_path / name), "AIGW_DB": pg_url, "AIGW_ADMIN_TOKEN": ADMIN,
        "AIGW_REDIS_URL": redis_settings["url"], "AIGW_REDIS_PREFIX": redis_settings["prefix"],
        "AIGW_REDIS_TIMEOUT": "2.0", "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console.cli", "--headless", "--demo", "--no-demo-traffic", "--port", "0",
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), DEADLINE)).decode()
    match = re.search(r"listening on (http://\S+)", line)
    assert match, line
    return proc, match.group(1)


async def test_two_real_processes_count_one_limit_and_one_console_sees_both(
    tmp_path: Path, pg_url: str, redis_settings: dict[str, Any]
) -> None:
    started = [await start_headless(tmp_path, f"proc{n}", pg_url, redis_settings) for n in range(2)]
    (first, first_url), (second, second_url) = started
    api = f"{first_url.split('/v1/')[0]}/client/v4/accounts/local/ai-gateway"
    auth = {"Authorization": f"Bearer {ADMIN}"}
    limit = {"rate_limiting_limit": 50, "rate_limiting_interval": 60, "rate_limiting_technique": "sliding"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.put(f"{api}/gateways/default", json=limit, headers=auth) as response:
                assert response.status == 200, await response.text()
            async with session.ws_connect(f"{api}/events", headers=auth) as ws:
                gate = asyncio.Semaphore(16)

                async def one(n: int) -> tuple[int, str]:
                    async with gate:
                        url = (first_url, second_url)[n % 2]
                        async with session.post(f"{url}/openai/chat/completions", json=body) as response:
                            await response.read()
                            return response.status, response.headers["cf-aig-log-id"]

                answers = await asyncio.gather(*(one(n) for n in range(200)))
                wanted = {log_id for _, log_id in answers}
                workers: dict[str, str] = {}
                deadline = time.monotonic() + DEADLINE
                while not wanted <= workers.keys():
                    message = await ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
                    assert message.type is aiohttp.WSMsgType.TEXT, message
                    for event in orjson.loads(message.data).get("events", []):
                        workers[event["id"]] = event["worker"]
        statuses = [status for status, _ in answers]
        assert statuses.count(200) == 50 and statuses.count(429) == 150
        served_by = {workers[log_id] for log_id in wanted}
        assert served_by == {f"{socket.gethostname()}:{proc.pid}" for proc, _ in started}
    finally:
        for proc, _ in started:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started:
            _, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
            assert proc.returncode == 0, err.decode()
