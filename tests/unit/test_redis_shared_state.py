"""Redis-counted rate limits and the cache's Redis layer, against a real (private) redis-server."""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import pytest

from proxy_core.cache.backend import CachedResponse
from proxy_core.cache.redis_layer import RedisCacheLayer, SharedEntry, decode_entry, encode_entry
from proxy_core.config import RedisSettings
from proxy_core.shared import RedisLink, RedisRateLimits
from tests.redis_server import free_port

KEY = ("local", "default")
# Generous: these tests count exactly, and a call slower than the timeout would be counted locally.
PATIENT = 5.0


@pytest.fixture
async def links(redis_settings: dict[str, Any]) -> AsyncIterator[list[RedisLink]]:
    """Two links on one Redis and prefix: two processes' worth of connections."""
    made = [RedisLink(RedisSettings(**redis_settings, timeout=PATIENT)) for _ in range(2)]
    for link in made:
        await link.start()
    yield made
    for link in made:
        await link.close()


async def test_fixed_window_admits_the_limit_then_says_how_long_to_wait(links: list[RedisLink]) -> None:
    limits = RedisRateLimits(links[0])
    # An hour-long window: the four checks straddle a window boundary only if run at hh:59:59.9.
    answers = [await limits.check(KEY, 3, 3600, "fixed") for _ in range(4)]
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and 0 < answers[3] <= 3600
    assert links[0].failures == 0  # counted in Redis, not by the fallback


async def test_two_processes_share_one_exact_count(links: list[RedisLink]) -> None:
    first, second = RedisRateLimits(links[0]), RedisRateLimits(links[1])
    for technique in ("fixed", "sliding"):
        checks = [(first if n % 2 else second).check(KEY, 50, 3600, technique) for n in range(200)]
        answers = await asyncio.gather(*checks)
        assert sum(answer is None for answer in answers) == 50, technique
    assert links[0].failures == links[1].failures == 0


async def test_sliding_window_admits_again_once_the_oldest_request_leaves(links: list[RedisLink]) -> None:
    limits = RedisRateLimits(links[0])
    assert [await limits.check(KEY, 2, 1, "sliding") for _ in range(2)] == [None, None]
    refused_at = time.monotonic()
    wait = await limits.check(KEY, 2, 1, "sliding")
    assert wait is not None and 0 < wait <= 1
    while (answer := await limits.check(KEY, 2, 1, "sliding")) is not None:  # wait on the window's state
        assert 0 < answer <= 1
        assert time.monotonic() - refused_at < 30, "the sliding window never let a request in again"
        await asyncio.sleep(answer)


async def test_changed_settings_start_a_fresh_count_and_no_limit_counts_nothing(links: list[RedisLink]) -> None:
    limits = RedisRateLimits(links[0])
    assert await limits.check(KEY, 1, 60, "fixed") is None
    assert await limits.check(KEY, 1, 60, "fixed") is not None
    assert await limits.check(KEY, 2, 60, "fixed") is None  # new limit: counted afresh
    assert await limits.check(KEY, None, 60, "fixed") is None
    with pytest.raises(ValueError, match="technique"):
        await limits.check(KEY, 1, 60, "leaky")


async def test_without_redis_the_process_counts_alone_and_says_so() -> None:
    link = RedisLink(RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", timeout=0.5))
    await link.start()
    try:
        assert not link.up and link.last_error
        limits = RedisRateLimits(link)
        answers = [await limits.check(KEY, 2, 60, "fixed") for _ in range(3)]
        assert answers[:2] == [None, None] and answers[2] is not None
        assert link.failures == 3
    finally:
        await link.close()


def entry(body: bytes, expires_ms: int, gateway: str = "default") -> SharedEntry:
    response = CachedResponse(200, [("content-type", "application/json")], body, False, 1_000, expires_ms)
    return SharedEntry(response, "local", gateway)


def test_an_entry_survives_encoding_byte_for_byte() -> None:
    body = b'{"a": 1}\n\x00\xff and more\n'
    original = entry(body, 2_000)
    assert decode_entry(encode_entry(original)) == original


async def test_the_cache_layer_is_shared_expires_and_clears_by_gateway(links: list[RedisLink]) -> None:
    writer, reader = RedisCacheLayer(links[0]), RedisCacheLayer(links[1])
    now = int(time.time() * 1000)
    await writer.put("local/default/a", entry(b"answer a", now + 60_000), now)
    await writer.put("local/other/b", entry(b"answer b", now + 60_000, "other"), now)
    await writer.put("local/default/brief", entry(b"short", now + 30_000), now)
    found = await reader.get("local/default/a", now)
    assert found is not None and found.response.body == b"answer a" and found.gateway_id == "default"
    assert await reader.get("local/default/a", now + 60_000) is None  # expired by its own clock too
    ttl = await links[1].call(lambda client: client.pttl(links[1].key("cache", "local/default/brief")))
    assert 0 < ttl <= 30_000  # Redis expires it: nothing to purge
    assert await writer.clear("local", "default") == 2
    assert await reader.get("local/default/a", now) is None
    assert (await reader.get("local/other/b", now)) is not None
