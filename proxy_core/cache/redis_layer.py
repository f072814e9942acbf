"""The cache's shared hot layer: entries in Redis, seen by every gateway process at once.

It sits between each process's memory LRU and the ``cache_entries`` table (see
:class:`proxy_core.cache.SqlCacheBackend`): an answer cached through one process is a hit through
every other one on its next request, without a database read. Entries expire by Redis itself
(``PX`` = the entry's remaining TTL); bodies up to :data:`~proxy_core.cache.MAX_CACHEABLE_BYTES`
are taken.

The table stays the durable layer: Redis is usually run without persistence and with an eviction
policy, so a Redis restart or an eviction must not cold-start every cache, and while Redis is down
the processes still share entries through the store. Every call here is best effort and bounded
(:class:`~proxy_core.shared.link.RedisLink`): Redis down or slow is a miss, never an error.

An entry is stored as one string: its metadata as a JSON line, then the body's bytes.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from proxy_core.cache.backend import CachedResponse, SharedEntry
from proxy_core.cache.keys import MAX_CACHEABLE_BYTES
from proxy_core.shared.link import RedisLink, RedisUnavailable

__all__ = ["RedisCacheLayer", "SharedEntry", "decode_entry", "encode_entry"]

log = logging.getLogger(__name__)

_SCAN_BATCH = 500
_GLOB_SPECIALS = str.maketrans({c: "\\" + c for c in "*?[]\\"})


def encode_entry(entry: SharedEntry) -> bytes:
    response = entry.response
    meta = {
        "account_id": entry.account_id,
        "gateway_id": entry.gateway_id,
        "status": response.status,
        "headers": response.headers,
        "streamed": response.streamed,
        "created_ms": response.created_ms,
        "expires_ms": response.expires_ms,
    }
    return orjson.dumps(meta) + b"\n" + response.body  # orjson never writes a raw newline


def decode_entry(data: bytes) -> SharedEntry:
    meta, _, body = data.partition(b"\n")
    fields: dict[str, Any] = orjson.loads(meta)
    response = CachedResponse(
        status=int(fields["status"]),
        headers=[(str(name), str(value)) for name, value in fields["headers"]],
        body=body,
        streamed=bool(fields["streamed"]),
        created_ms=int(fields["created_ms"]),
        expires_ms=int(fields["expires_ms"]),
    )
    return SharedEntry(response, str(fields["account_id"]), str(fields["gateway_id"]))


class RedisCacheLayer:
    """Get, put and clear cache entries in Redis; every method answers without Redis when it is
    down (a miss, a skipped write, nothing cleared)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.hits = 0
        self.misses = 0

    def _name(self, key: str) -> str:
        return self.link.key("cache", key)

    async def get(self, key: str, now_ms: int) -> SharedEntry | None:
        try:
            data = await self.link.call(lambda client: client.get(self._name(key)))
        except RedisUnavailable:
            return None
        if data is None:
            self.misses += 1
            return None
        try:
            entry = decode_entry(data)
        except (ValueError, KeyError, TypeError) as exc:  # written by something else: ignore it
            log.warning("unreadable cache entry in redis under %s ignored: %s", key, exc)
            return None
        if not entry.response.is_fresh(now_ms):
            return None
        self.hits += 1
        return entry

    async def put(self, key: str, entry: SharedEntry, now_ms: int) -> None:
        ttl_ms = entry.response.expires_ms - now_ms
        if ttl_ms <= 0 or len(entry.response.body) > MAX_CACHEABLE_BYTES:
            return
        data = encode_entry(entry)
        # A big body takes longer to send than a lookup: allow for it off the request path.
        timeout = self.link.timeout + len(data) / 50_000_000
        try:
            await self.link.call(lambda client: client.set(self._name(key), data, px=ttl_ms), timeout=timeout)
        except RedisUnavailable:
            pass  # memory and the table hold it

    async def clear(self, account_id: str, gateway_id: str) -> int:
        """Delete one gateway's entries (``SCAN`` over its key prefix, rare: a settings change)."""
        pattern = self._name(f"{account_id}/{gateway_id}/".translate(_GLOB_SPECIALS)) + "*"

        async def scan_and_delete(client: Any) -> int:
            deleted = 0
            batch: list[bytes] = []
            async for name in client.scan_iter(match=pattern, count=_SCAN_BATCH):
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    deleted += await client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await client.unlink(*batch)
            return deleted

        try:
            return await self.link.call(scan_and_delete, timeout=30.0)
        except RedisUnavailable as exc:
            log.warning("could not clear gateway %s/%s's cache entries in redis: %s", account_id, gateway_id, exc)
            return 0
