"""Expiry that cleans itself: a background task deleting expired cache entries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable

from proxy_core.cache.backend import CacheBackend

__all__ = ["CacheJanitor"]

log = logging.getLogger(__name__)


class CacheJanitor:
    """Calls ``backend.purge_expired(clock())`` at start and then every ``interval`` seconds.

    ``clock`` returns Unix milliseconds. A failed purge is logged and retried at the next tick;
    the task lives from :meth:`start` to :meth:`close` (an aiohttp ``cleanup_ctx``).
    """

    def __init__(self, backend: CacheBackend, clock: Callable[[], int], interval: float = 60.0) -> None:
        self._backend = backend
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.purged = 0
        """Entries deleted since start (for statistics and tests)."""

    def start(self) -> None:
        """Start the purging task on the running loop (a second call does nothing)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="cache-janitor")

    async def close(self) -> None:
        """Stop the task and wait for it (an interrupted purge's transaction rolls back)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def purge_once(self) -> int:
        """One purge now; the number of entries deleted (0 when the purge failed)."""
        try:
            count = await self._backend.purge_expired(self._clock())
        except Exception:  # the next tick tries again; the janitor must not die
            log.exception("cache purge failed")
            return 0
        self.purged += count
        return count

    async def _run(self) -> None:
        while True:
            await self.purge_once()
            await asyncio.sleep(self._interval)
