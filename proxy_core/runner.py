"""Start and stop a gateway: store, app, listener, and (with ``--demo``) the embedded mock provider."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from proxy_core.api import resolve_admin_token
from proxy_core.config import ProviderSettings, Settings
from proxy_core.demo.traffic import run_demo_traffic
from proxy_core.events import EventBus, Subscription
from proxy_core.demo.mock_provider import MockProvider, start_mock
from proxy_core.runtime_file import RuntimeInfo, read_runtime, remove_runtime, write_runtime
from proxy_core.server import PIPE, create_app
from proxy_core.store.engine import Store, open_store
from proxy_core.store.gateways import ensure_default_gateway

__all__ = [
    "GatewayAlreadyRunning", "RunningGateway", "settle_heap", "start_gateway", "format_log_line", "print_access_log",
    "local_url",
]  # fmt: skip

log = logging.getLogger(__name__)


class GatewayAlreadyRunning(OSError):
    """Another live process serves this data directory (see :mod:`proxy_core.runtime_file`)."""

    def __init__(self, info: RuntimeInfo, data_dir: Path) -> None:
        super().__init__(
            f"a gateway already serves {data_dir} (pid {info.pid}, {info.base_url}); run aigw-console "
            "without --headless to attach a console to it, or choose another --data-dir"
        )
        self.info = info


@dataclass
class RunningGateway:
    """A started gateway; ``stop()`` closes the listener, flushes the log queue and the store."""

    settings: Settings
    store: Store
    bus: EventBus
    app: web.Application
    runner: web.AppRunner
    port: int
    mock_runner: web.AppRunner | None = None
    admin_token: str = ""
    admin_token_file: Path | None = None
    demo_traffic: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.server.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/client/v4"

    @property
    def gateway_url(self) -> str:
        return f"{self.base_url}/v1/{self.settings.server.account_id}/default"

    async def stop(self) -> None:
        if not self.settings.worker_id:  # a worker's group file belongs to its supervisor
            remove_runtime(self.settings.data_dir, os.getpid())
        if self.demo_traffic is not None:
            self.demo_traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.demo_traffic
        await self.runner.cleanup()
        if self.mock_runner is not None:
            await self.mock_runner.cleanup()
        await self.store.close()


def _with_demo_providers(settings: Settings, mock_port: int) -> Settings:
    base = f"http://127.0.0.1:{mock_port}"
    demo = {
        "openai": ProviderSettings(base_url=f"{base}/v1"),
        "anthropic": ProviderSettings(base_url=base),
        "google-ai-studio": ProviderSettings(base_url=base),
    }
    return dataclasses.replace(settings, providers={**settings.providers, **demo})


async def start_gateway(settings: Settings, bus: EventBus | None = None, *, worker_id: str | None = None) -> RunningGateway:
    """Open the store, make sure the ``default`` gateway exists, and start listening. ``worker_id``
    names this process in the events it publishes (default ``host:pid``).

    Raises :class:`GatewayAlreadyRunning` if another live process serves the data directory. A
    ``--workers`` process (``settings.worker_id``) shares its port with its siblings
    (``SO_REUSEPORT``: the kernel spreads connections over them) and leaves ``gateway.json`` to
    the supervisor (:mod:`proxy_core.worker_group`)."""
    worker = bool(settings.worker_id)
    running = None if worker else read_runtime(settings.data_dir)
    if running is not None:
        raise GatewayAlreadyRunning(running, settings.data_dir)
    mock_runner = None
    if settings.demo:
        mock_runner, mock_port = await start_mock(MockProvider(latency_ms=120, chunk_delay_ms=40))
        settings = _with_demo_providers(settings, mock_port)
    store = await open_store(settings.store_url)
    async with store.sessions.begin() as session:
        await ensure_default_gateway(session, settings.server.account_id)
    bus = bus or EventBus()
    admin_token, token_file = resolve_admin_token(settings)
    app = create_app(settings, store, bus, admin_token=admin_token, worker_id=worker_id)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=10,
        keepalive_timeout=settings.server.idle_timeout,
    )  # fmt: skip
    await runner.setup()
    site = web.TCPSite(
        runner, settings.server.host, settings.server.port, backlog=1024, reuse_address=True, reuse_port=worker or None
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await store.close()
        raise OSError(f"cannot listen on {settings.server.host}:{settings.server.port}: {exc.strerror}") from None
    addresses = runner.addresses  # aiohttp's public list of bound (host, port, …) tuples
    port = addresses[0][1] if addresses else settings.server.port
    gateway = RunningGateway(settings, store, bus, app, runner, port, mock_runner, admin_token, token_file)
    if not worker:
        write_runtime(
            settings.data_dir,
            RuntimeInfo(os.getpid(), local_url(settings.server.host, port), settings.server.account_id,
                        int(time.time() * 1000), settings.headless),
        )  # fmt: skip
    if settings.demo and settings.demo_traffic:
        gateway.demo_traffic = asyncio.get_running_loop().create_task(
            run_demo_traffic(gateway.gateway_url), name="aigw-demo-traffic"
        )
    return gateway


def settle_heap() -> None:
    """Call once a serving process has started: freeze what start-up built (modules, the app, the
    pricing table) out of the cycle collector's sight and collect the young generation less often.
    Per-request garbage is almost all freed by reference counting; with the default thresholds the
    collector still spent ~150 us per proxied request re-scanning long-lived objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def local_url(host: str, port: int) -> str:
    """Where a process on this machine reaches the listener (a wildcard address means loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def format_log_line(event: dict[str, Any]) -> str:
    """One compact, secret-free line per request, for ``--headless`` stdout."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(event["created_at"] / 1000))
    model = event.get("model") or "-"
    tokens = ""
    if event.get("tokens_in") is not None or event.get("tokens_out") is not None:
        tokens = f" in={event.get('tokens_in') or 0} out={event.get('tokens_out') or 0}"
    cost = f" ${event['cost']:.6f}" if event.get("cost") is not None else ""
    flags = "".join(
        (" cached" if event.get("cached") else "", " stream" if event.get("streamed") else "")
    )
    error = f" error={event['error']!r}" if event.get("error") else ""
    worker = f" worker={event['worker_id']}" if event.get("worker_id") else ""
    return (
        f"{stamp}Z {event['status_code']} {event['gateway_id']} {event['provider']}/{model} "
        f"{event['method']} {event['path']} {event['duration']}ms{tokens}{cost}{flags}{error} id={event['id']}{worker}"
    )


async def print_access_log(subscription: Subscription, out: TextIO = sys.stdout) -> None:
    """Print every finished request until cancelled (batched per wake-up).

    The bus also carries edits of stored logs (``{"event": "log_updated", …}``) and, with Redis,
    the requests other processes served (they carry an ``origin``); neither is this process's
    request, and both are skipped. A log the printer cannot format is reported once and skipped: the
    access log must never stop because of one odd row."""
    while True:
        await subscription.wait()
        lines = []
        for event in subscription.drain():
            if "event" in event or "origin" in event:
                continue
            try:
                lines.append(format_log_line(event))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("access log: log %s not printed (%s: %s)", event.get("id"), type(exc).__name__, exc)
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()


def pipe_report(gateway: RunningGateway) -> str:
    stats = gateway.app[PIPE].stats()
    line = f"logs written={stats.written} dropped={stats.dropped} write_failures={stats.write_failures}"
    if stats.refused:
        line += f" refused_requests={stats.refused}"
    if stats.spooled:
        line += f" left_in_crash_spool={stats.spooled} (stored at the next start)"
    return line
