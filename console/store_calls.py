"""Service calls that finish even when the worker waiting for them is cancelled.

Textual cancels workers freely (an exclusive worker replaced by a newer one, every worker when
the App exits). Cancelling SQLAlchemy in the middle of a query makes it terminate the connection,
and with aiosqlite that termination can wait forever, which hangs the event loop's shutdown. So
console workers await store work through :func:`finish`: the call runs in its own task, shielded;
a cancelled worker stops waiting but the query completes and returns its connection normally.
:func:`settle` waits for such calls still in flight (the App does before it exits, the CLI before
it closes the store).

:func:`report_failure` turns what a failed call raised into one readable notification: a service's
own message as it is, anything else (a database error, a full disk) as its first line, never as
markup and never as a traceback. Views catch ``Exception`` around their store calls and report it:
the console never crashes because the store failed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Literal, TypeVar

from proxy_core.services import ServiceError

__all__ = ["finish", "settle", "describe_error", "report_failure"]

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


_MAX_MESSAGE = 300


def describe_error(exc: BaseException) -> str:
    """One line an operator can read: a :class:`ServiceError`'s message, else the exception's
    first line (SQLAlchemy appends the statement and a link on later lines), else its type."""
    if isinstance(exc, ServiceError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = lines[0] if lines else ""
        if not text or text.startswith("[SQL"):
            text = type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def report_failure(
    node: Any, title: str, exc: BaseException, *, severity: Literal["information", "warning", "error"] = "error"
) -> None:
    """Notify ``title`` with :func:`describe_error` of ``exc`` (``node``: the App or a widget)."""
    node.notify(describe_error(exc), title=title, severity=severity, markup=False)
