"""The console's one door to the gateway it shows: :class:`GatewayLink`, implemented twice.

* :class:`InProcessLink` — the gateway runs in this process on a thread of its own
  (:class:`proxy_core.gateway_thread.GatewayThread`): calls cross to its event loop through
  thread-safe futures, the live tail is read from the gateway's own :class:`LiveFeed`; no sockets.
* :class:`console.attach.AttachedLink` — the gateway runs in another process: the same calls go
  over its management API's events WebSocket and ``/healthz``.

The console's own service layer (its own store engine, on the console's loop) reads and changes
state in both cases; the link tells the gateway what changed (``put``/``remove``/``refresh``, the
service layer's :class:`~proxy_core.directory.DirectoryUpdates`; ``logs_deleted``) and carries the
console's edits of logs (``bus``) to every live view, its own and other consoles'.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Protocol

from proxy_core.directory import GatewayConfig
from proxy_core.events import EventBus
from proxy_core.gateway_thread import GatewayThread
from proxy_core.live_feed import LiveFeed
from proxy_core.logpipe import PipeStats
from proxy_core.server import DIRECTORY, GUARDRAILS, PIPE, WRITER

__all__ = ["GatewayLink", "InProcessLink", "evaluator_probe"]


class _HasHealth(Protocol):
    name: str

    async def health(self) -> tuple[bool, str]: ...


def evaluator_probe(evaluator: _HasHealth) -> Callable[[], Awaitable[tuple[str, str]]]:
    """An ``evaluator_status`` from a guardrails evaluator (:class:`proxy_core.guardrails.Evaluator`):
    its name and whether it can judge now. Call it on the evaluator's own event loop."""

    async def status() -> tuple[str, str]:
        healthy, detail = await evaluator.health()
        return evaluator.name, "healthy" if healthy else f"unreachable: {detail or 'no answer'}"

    return status


class GatewayLink(Protocol):
    """What the views need of the gateway (live events, refresh, evaluator status, health)."""

    feed: LiveFeed
    """The newest finished logs, edits of logs and per-second counters, read once per frame."""
    bus: EventBus
    """Where the console's service layer publishes its edits of logs (they reach ``feed``)."""

    async def put(self, config: GatewayConfig) -> None:
        """A gateway's settings changed: the gateway applies them before this returns (bounded)."""

    async def remove(self, account_id: str, gateway_id: str) -> None:
        """A gateway was deleted."""

    async def refresh(self) -> None:
        """Re-read gateways and tokens now."""

    def logs_deleted(self) -> None:
        """Logs were deleted from the store: the gateway's retention counts are stale."""

    async def evaluator_status(self) -> tuple[str, str]:
        """The guardrails evaluator's name and ``"healthy"`` or ``"unreachable: <reason>"``."""

    async def log_health(self) -> PipeStats:
        """The gateway's log pipeline (raises when it cannot be read)."""


class _ToGateway:
    """A bus consumer that republishes the console's events on the gateway's bus (its loop, its thread)."""

    def __init__(self, gateway: GatewayThread) -> None:
        self._gateway = gateway

    def push(self, event: dict[str, Any]) -> None:
        self._gateway.publish(event)


class InProcessLink:
    """:class:`GatewayLink` to a :class:`GatewayThread` of this process."""

    def __init__(self, gateway: GatewayThread) -> None:
        self._gateway = gateway
        self.feed = gateway.feed
        self.bus = EventBus()
        self.bus.attach(_ToGateway(gateway))

    def _app(self) -> Any:
        running = self._gateway.gateway
        if running is None:
            raise RuntimeError("the gateway is not serving")
        return running.app

    async def _reread(self) -> None:
        app = self._app()

        async def reread() -> None:
            app[WRITER].forget_counts()
            await app[DIRECTORY].refresh()

        await self._gateway.run(reread)

    async def put(self, config: GatewayConfig) -> None:
        await self._reread()  # the re-read also drops the cache of a gateway whose settings changed

    async def remove(self, account_id: str, gateway_id: str) -> None:
        await self._reread()

    async def refresh(self) -> None:
        await self._reread()

    def logs_deleted(self) -> None:
        app = self._app()

        async def forget() -> None:
            app[WRITER].forget_counts()

        self._gateway.call(forget)

    async def evaluator_status(self) -> tuple[str, str]:
        return await self._gateway.run(evaluator_probe(self._app()[GUARDRAILS].evaluator))

    async def log_health(self) -> PipeStats:
        pipe = self._app()[PIPE]

        async def stats() -> PipeStats:
            return pipe.stats()

        return await self._gateway.run(stats)
