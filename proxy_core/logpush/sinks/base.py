"""What a Logpush destination is: somewhere a named file can be put, or a reason it could not."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Sink", "SinkError"]


class SinkError(Exception):
    """A delivery that did not happen (destination down, refused, disk full); the file is kept and retried."""


class Sink(Protocol):
    """A Logpush destination. ``put`` must be idempotent per ``key``: after a failure that happened
    late (the file arrived, the answer did not) the same file is sent again (at least once)."""

    description: str
    """Where files go, fit to print (no credentials)."""

    async def put(self, key: str, data: bytes) -> None:
        """Deliver one gzipped JSON-lines file under ``key``; raise :class:`SinkError` if it was not."""
        ...

    async def close(self) -> None: ...
