"""A gateway served on a thread of its own, with its own event loop (uvloop when installed) and its
own store engine, for a process whose main thread belongs to something else (the console).

The two loops share nothing but thread-safe doors: :meth:`GatewayThread.call` runs a coroutine on
the gateway's loop and hands back a :class:`concurrent.futures.Future` (``await
asyncio.wrap_future(...)`` on the other loop); finished logs reach the other side through the
:class:`~proxy_core.live_feed.LiveFeed` attached to the gateway's bus before it serves. A 50 ms
redraw on one loop no longer stalls the proxy on the other, and a burst of requests no longer
delays a key.

Signals belong to the main thread (Python delivers them there): the owner of the main thread
decides when to :meth:`GatewayThread.stop`, which closes the listener, flushes the log queue and
closes the gateway's store before the thread ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

from proxy_core.config import Settings
from proxy_core.events import EventBus
from proxy_core.live_feed import LiveFeed
from proxy_core.runner import RunningGateway, start_gateway

__all__ = ["GatewayThread", "run_loop"]

T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a new event loop (uvloop's when installed) in the calling thread."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


class GatewayThread:
    """Start with :meth:`start` (await it), stop with :meth:`stop` (await it): both from the
    owner's event loop. ``feed`` receives every log the gateway finishes."""

    def __init__(self, settings: Settings, *, clock: Callable[[], int]) -> None:
        self.settings = settings
        self.feed = LiveFeed(clock)
        self.bus = EventBus()
        self.bus.attach(self.feed)
        self.gateway: RunningGateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started: concurrent.futures.Future[RunningGateway] = concurrent.futures.Future()
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, name="aigw-gateway", daemon=True)

    async def start(self) -> RunningGateway:
        """Start serving; raises what :func:`~proxy_core.runner.start_gateway` raised."""
        self._thread.start()
        self.gateway = await asyncio.wrap_future(self._started)
        return self.gateway

    def call(self, work: Callable[[], Awaitable[T]]) -> "concurrent.futures.Future[T]":
        """Run ``work()`` on the gateway's loop; its result or exception arrives in the future."""
        if self._loop is None:
            raise RuntimeError("the gateway thread is not serving")

        async def run() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """:meth:`call`, awaited on the caller's loop."""
        return await asyncio.wrap_future(self.call(work))

    def publish(self, event: dict[str, Any]) -> None:
        """Publish ``event`` on the gateway's bus, from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.bus.publish, event)

    async def stop(self) -> None:
        """Stop serving: listener closed, log queue flushed, store closed; returns once the thread ended."""
        if self._loop is not None and self._stop is not None and not self._stopped.done():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.ident is None:
            return  # never started
        await asyncio.wrap_future(self._stopped)
        await asyncio.to_thread(self._thread.join)

    @property
    def serving(self) -> bool:
        return self._thread.is_alive() and not self._stopped.done()

    # -- the thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            run_loop(self._serve())
        except BaseException as exc:  # noqa: BLE001 - whatever ended the loop, the owner hears it
            if not self._started.done():
                self._started.set_exception(exc)
            if not self._stopped.done():
                self._stopped.set_exception(exc)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            gateway = await start_gateway(self.settings, self.bus)
        except BaseException as exc:
            self._started.set_exception(exc)
            self._stopped.set_result(None)
            return
        self._loop = asyncio.get_running_loop()
        self._started.set_result(gateway)
        try:
            await self._stop.wait()
        finally:
            await gateway.stop()
            self._stopped.set_result(None)
