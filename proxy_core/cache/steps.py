"""The cache as the request path uses it: which steps may be answered from it, under which key,
and writing answers back without making the client wait."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from proxy_core.cache.backend import CacheBackend, CachedResponse
from proxy_core.cache.keys import MAX_CACHEABLE_BYTES, cache_key, custom_cache_key
from proxy_core.directory import GatewayConfig
from proxy_core.exchange import Exchange
from proxy_core.step import Step

__all__ = ["CUSTOM_KEY_TTL", "StepCache"]

CUSTOM_KEY_TTL = 300
"""Seconds a ``cf-aig-cache-key`` entry lives when neither the request nor the gateway sets a TTL."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class StepCache:
    """Cache lookups and writes for steps, over a :class:`CacheBackend`."""

    def __init__(self, backend: CacheBackend, *, share_across_credentials: bool = False) -> None:
        self.backend = backend
        self.share_across_credentials = share_across_credentials
        self.now_ms: Callable[[], int] = _now_ms
        """The clock of cache expiry (tests replace it to step over a TTL)."""
        self._writes: set[asyncio.Task[Any]] = set()

    def plan(self, gateway: GatewayConfig, step: Step) -> tuple[str | None, int]:
        """``(key, ttl seconds)`` when this step may be answered from / stored in the cache. Keys
        start ``{account}/{gateway}/``, so a shared layer can clear one gateway's entries by prefix."""
        policy = step.policy
        if policy.skip_cache or len(step.body) > MAX_CACHEABLE_BYTES:
            return None, 0
        if policy.cache_key is not None:
            ttl = policy.cache_ttl if policy.cache_ttl is not None else (gateway.cache_ttl or CUSTOM_KEY_TTL)
            if not ttl:
                return None, 0
            return f"{gateway.account_id}/{gateway.id}/{custom_cache_key(gateway.account_id, gateway.id, policy.cache_key)}", ttl
        ttl = policy.cache_ttl if policy.cache_ttl is not None else (gateway.cache_ttl or 0)
        if not ttl:
            return None, 0
        path_and_query = step.resolved.upstream_base + step.resolved.path + ("?" + step.query if step.query else "")
        key = cache_key(
            step.provider, step.method, path_and_query, step.body, step.headers,
            share_across_credentials=self.share_across_credentials,
        )  # fmt: skip
        return f"{gateway.account_id}/{gateway.id}/{key}", ttl

    async def get(self, key: str) -> CachedResponse | None:
        try:
            return await self.backend.get(key, self.now_ms())
        except Exception:  # a broken cache must not break the request: answer from upstream
            return None

    def put(self, gateway: GatewayConfig, key: str, ttl: int, ex: Exchange) -> None:
        """Store a successful answer in the background (the client has it already)."""
        if ex.response_body is None or len(ex.response_body) > MAX_CACHEABLE_BYTES:
            return
        now = self.now_ms()
        # The cache keeps the decoded content, so a hit is served unencoded to any client.
        headers = [(k, v) for k, v in ex.response_headers if k.lower() != "content-encoding"]
        entry = CachedResponse(ex.status_code, headers, ex.response_body, ex.streamed, now, now + ttl * 1000)
        task = asyncio.get_running_loop().create_task(self.backend.put(key, gateway.account_id, gateway.id, entry))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def drain(self) -> None:
        """Wait for pending cache writes (at shutdown, and in tests)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)
