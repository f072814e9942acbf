"""Service calls that finish even when the worker waiting for them is cancelled.

Textual cancels workers freely (an exclusive worker replaced by a newer one, every worker when
the App exits). Cancelling SQLAlchemy in the middle of a query makes it terminate the connection,
and with aiosqlite that termination can wait forever, which hangs the event loop's shutdown. So
console workers await store work through :func:`finish`: the call runs in its own task, shielded;
a cancelled worker stops waiting but the query completes and returns its connection normally.
:func:`settle` waits for such calls still in flight (the App does before it exits, the CLI before
it closes the store).
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

__all__ = ["finish", "settle"]

T = TypeVar("T")

_in_flight: set[asyncio.Future] = set()
"""Calls not finished yet (process-wide: there is one event loop and one store per process)."""


def _done(task: asyncio.Future) -> None:
    _in_flight.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned call's error is not "never retrieved"


async def finish(call: Awaitable[T]) -> T:
    """Await ``call`` to completion, even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(call)
    _in_flight.add(task)
    task.add_done_callback(_done)
    return await asyncio.shield(task)


async def settle(timeout: float = 5.0) -> None:
    """Wait (at most ``timeout`` seconds) for the calls still in flight in this loop."""
    loop = asyncio.get_running_loop()
    pending = [task for task in _in_flight if task.get_loop() is loop and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
