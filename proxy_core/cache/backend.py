"""A cached answer, and the small protocol every cache backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["CachedResponse", "CacheBackend"]


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """One upstream answer as the cache replays it."""

    status: int
    headers: list[tuple[str, str]]
    """Response headers to replay, already without hop-by-hop, ``content-length`` and ``content-encoding``."""
    body: bytes
    """The whole (decoded) body; for a stream, every event as it was sent."""
    streamed: bool
    """Replay as a stream (SSE) rather than one body."""
    created_ms: int
    """When the answer was stored, Unix milliseconds."""
    expires_ms: int
    """When the entry stops being served, Unix milliseconds (exclusive: at ``expires_ms`` it is gone)."""

    def is_fresh(self, now_ms: int) -> bool:
        """Whether the entry may still be served at ``now_ms``."""
        return now_ms < self.expires_ms


@runtime_checkable
class CacheBackend(Protocol):
    """Where cached answers live. Keys are opaque strings chosen by the caller."""

    async def get(self, key: str, now_ms: int) -> CachedResponse | None:
        """The entry under ``key``, or ``None`` when missing or expired at ``now_ms``."""
        ...

    async def put(self, key: str, account_id: str, gateway_id: str, response: CachedResponse) -> None:
        """Store (or replace) the entry under ``key``, remembering the gateway it belongs to."""
        ...

    async def purge_expired(self, now_ms: int) -> int:
        """Delete every entry expired at ``now_ms``; the number deleted."""
        ...

    async def clear(self, account_id: str, gateway_id: str) -> int:
        """Delete every entry of one gateway (``cache_invalidate_on_update``); the number deleted."""
        ...


class SharedEntry(NamedTuple):
    """A cached response with the gateway it belongs to, as the processes' shared layer holds it."""

    response: CachedResponse
    account_id: str
    gateway_id: str
