"""The app factory: ``create_app(settings, store, bus)`` wires routes, state and lifetimes.

No globals: everything a handler needs hangs off typed ``AppKey``s, and everything with a
lifetime (the upstream connection pool, the log writer, the gateway refresher) lives in
``cleanup_ctx`` so it starts with the app and is flushed and closed with it.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from typing import TYPE_CHECKING, AsyncIterator

import aiohttp
from aiohttp import web

from proxy_core.api import API_PREFIX, create_api_app
from proxy_core.cache import CacheJanitor, SqlCacheBackend
from proxy_core.config import ConfigError, Settings
from proxy_core.costs import PricingTable, load_pricing
from proxy_core.directory import GatewayConfig, GatewayDirectory
from proxy_core.errors import ErrorCode, GatewayError, error_response
from proxy_core.events import EventBus
from proxy_core.health import health_handler
from proxy_core.logpipe import LogPipe
from proxy_core.metrics import GatewayMetrics, metrics_handler, multiprocess_dir
from proxy_core.logpush import LogPusher
from proxy_core.logspool import LogSpool
from proxy_core.admission import Admission
from proxy_core.cache.steps import StepCache
from proxy_core.forward import Forwarder
from proxy_core.guarding import Guard
from proxy_core.guardrails import GuardrailEngine, build_evaluator
from proxy_core.http.routes import FORWARDER, ProviderRoutes
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.services import Services
from proxy_core.store.engine import Store
from proxy_core.store.logwriter import LogWriter
from proxy_core.ws.realtime import RealtimeBridge
from proxy_core.ws.universal import UniversalSockets

if TYPE_CHECKING:
    from proxy_core.shared import Broadcaster

__all__ = [
    "create_app", "SETTINGS", "STORE", "BUS", "PIPE", "DIRECTORY", "FORWARDER", "PRICING", "WRITER", "SERVICES",
    "CACHE", "GUARDRAILS", "LOGPUSH", "METRICS",
]  # fmt: skip

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
BUS = web.AppKey("bus", EventBus)
PIPE = web.AppKey("pipe", LogPipe)
DIRECTORY = web.AppKey("directory", GatewayDirectory)
PRICING = web.AppKey("pricing", PricingTable)
WRITER = web.AppKey("writer", LogWriter)
SERVICES = web.AppKey("services", Services)
CACHE = web.AppKey("cache", SqlCacheBackend)
GUARDRAILS = web.AppKey("guardrails", GuardrailEngine)
LOGPUSH = web.AppKey("logpush", LogPusher)
METRICS = web.AppKey("metrics", GatewayMetrics)


async def _not_found(request: web.Request) -> web.Response:
    return error_response(GatewayError(ErrorCode.NOT_FOUND, f"No route for {request.method} {request.path}"))


async def _upstream_session(app: web.Application, *, cache: StepCache, guard: Guard) -> AsyncIterator[None]:
    """The provider connection pool, and the :class:`Forwarder` that uses it."""
    settings = app[SETTINGS]
    connector = aiohttp.TCPConnector(
        limit=settings.server.upstream_connection_limit,
        limit_per_host=0,
        ttl_dns_cache=300,
        keepalive_timeout=30,
    )
    timeout = aiohttp.ClientTimeout(
        total=None, connect=settings.server.upstream_connect_timeout, sock_read=settings.server.upstream_timeout
    )
    # Bodies are relayed as the provider encoded them and only the client's own Accept-Encoding is
    # sent: decoding is the gateway's choice, bounded (proxy_core.bounded_body), never aiohttp's.
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding")
    ) as session:
        app[FORWARDER] = Forwarder(
            session, app[PIPE], capture_limit=settings.logs.max_stored_body_bytes, cache=cache, guard=guard
        )
        yield
        await app[FORWARDER].drain()  # cache writes in flight, before the store closes


async def _realtime_session(app: web.Application, *, bridge: RealtimeBridge) -> AsyncIterator[None]:
    await bridge.start()
    yield
    await bridge.close()


async def _evaluator(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[GUARDRAILS].evaluator.aclose()


async def _log_writer(app: web.Application) -> AsyncIterator[None]:
    pipe = app[PIPE]
    await pipe.recover(app[WRITER].known_ids)  # what a killed process left, before new rows queue
    pipe.start()
    yield
    await app[CACHE].drain()
    await pipe.close()
    await app[WRITER].close()


async def _logpush(app: web.Application, *, pusher: LogPusher) -> AsyncIterator[None]:
    """Started before the log writer and closed after it, so the rows its last flush stores are pushed too."""
    await pusher.start()
    yield
    await pusher.close()


async def _cache_janitor(app: web.Application) -> AsyncIterator[None]:
    janitor = CacheJanitor(app[CACHE], lambda: int(time.time() * 1000))
    janitor.start()
    yield
    await janitor.close()


async def _gateway_directory(app: web.Application) -> AsyncIterator[None]:
    directory = app[DIRECTORY]
    await directory.refresh()
    directory.start()
    yield
    await directory.close()


async def _redis(app: web.Application, *, broadcaster: Broadcaster) -> AsyncIterator[None]:
    """First up, last down: the gateway serves with Redis down, so starting only tries once."""
    await broadcaster.link.start()
    broadcaster.start()
    yield
    await broadcaster.close()
    await broadcaster.link.close()


async def _invalidate_changed(cache: SqlCacheBackend, changed: list[GatewayConfig]) -> None:
    """Settings changed by another process (an attached console): clear those gateways' caches
    where they ask for it, as the service layer does for changes made in this process."""
    for gateway in changed:
        if gateway.cache_invalidate_on_update:
            await cache.clear(gateway.account_id, gateway.id)


async def _reread(directory: GatewayDirectory, writer: LogWriter) -> None:
    """Another process (an attached console) changed the shared store: re-read what we hold of it."""
    writer.forget_counts()
    await directory.refresh()


async def _reread_and_announce(directory: GatewayDirectory, writer: LogWriter, broadcaster: Broadcaster) -> None:
    """An attached console changed the shared store: re-read it here, and tell the other processes."""
    await _reread(directory, writer)
    await broadcaster.announce_change()


def create_app(
    settings: Settings,
    store: Store,
    bus: EventBus | None = None,
    *,
    admin_token: str,
    pricing: PricingTable | None = None,
    worker_id: str | None = None,
) -> web.Application:
    """Build the proxy and management API on an open, migrated ``store``. ``worker_id`` names this
    process in its events (default ``host:pid``)."""
    bus = bus or EventBus()
    bus.worker = worker_id or settings.worker_id or bus.worker or f"{socket.gethostname()}:{os.getpid()}"
    pricing = pricing or load_pricing(settings.pricing_file or None)
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    link = None
    if settings.redis.url:  # Redis's client is loaded only by a process that shares state through it
        from proxy_core.cache.redis_layer import RedisCacheLayer
        from proxy_core.shared import Broadcaster, BroadcastingDirectory, RedisLink, RedisRateLimits

        link = RedisLink(settings.redis)
    cache = SqlCacheBackend(
        store, memory_bytes=settings.cache.memory_bytes, read_timeout=settings.cache.read_timeout,
        shared=RedisCacheLayer(link) if link is not None else None,
    )  # fmt: skip
    directory = GatewayDirectory(store, on_changed=functools.partial(_invalidate_changed, cache))
    # A worker of a --workers group keeps its spools apart: each replays only what it left itself.
    suffix = f"-{settings.worker_id}" if settings.worker_id else ""
    pusher = (
        LogPusher(settings.logpush, settings.data_dir / f"logpush-spool{suffix}", store, directory.get)
        if settings.logpush.destination
        else None
    )
    writer = LogWriter(store, directory.log_limit, on_stored=pusher.accept if pusher is not None else None)
    spool = LogSpool(settings.data_dir / f"log-spool{suffix}", settings.logs.spool_max_bytes)
    pipe = LogPipe(
        settings.logs, writer.write, pricing, bus, idle_work=writer.index_pending, spool=spool,
        worker_id=settings.worker_id or None, on_built=lambda rows: metrics.observe(rows),
    )  # fmt: skip
    metrics = GatewayMetrics(
        pipe.stats, pusher.statuses if pusher is not None else None, shared_dir=multiprocess_dir(),
        worker_id=settings.worker_id or None,
    )
    registry = ProviderRegistry(settings.providers)
    try:
        # An HTTP evaluator opens a session of its own: a slow evaluator never holds provider connections.
        evaluator = build_evaluator(
            settings.guardrails.evaluator, settings.guardrails.options.get(settings.guardrails.evaluator, {})
        )
    except ValueError as exc:
        raise ConfigError(f"config key [guardrails] evaluator: {exc}") from None
    engine = GuardrailEngine(
        evaluator, cache_seconds=settings.guardrails.cache_seconds, timeout=settings.guardrails.timeout
    )
    reread = functools.partial(_reread, directory, writer)
    broadcaster = Broadcaster(link, bus, reread, ack_timeout=settings.redis.ack_timeout) if link is not None else None
    if broadcaster is not None:  # an attached console's change reaches the other processes too
        reread = functools.partial(_reread_and_announce, directory, writer, broadcaster)
    admission = Admission(directory, pipe, RedisRateLimits(link) if link is not None else None)
    step_cache = StepCache(cache, share_across_credentials=settings.cache.share_across_credentials)
    realtime = RealtimeBridge(admission, registry, pipe, settings.server)
    universal_ws = UniversalSockets(admission, registry, settings.server.max_body_bytes)
    routes = ProviderRoutes(settings.server, registry, admission, realtime.handle)
    services = Services(
        store,
        account_id=settings.server.account_id,
        directory=BroadcastingDirectory(directory, broadcaster) if broadcaster is not None else directory,
        bus=bus,
        on_logs_deleted=writer.forget_counts,
        cache=cache,
    )
    app[SETTINGS] = settings
    app[STORE] = store
    app[BUS] = bus
    app[PIPE] = pipe
    app[WRITER] = writer
    app[SERVICES] = services
    app[CACHE] = cache
    app[DIRECTORY] = directory
    app[PRICING] = pricing
    app[GUARDRAILS] = engine
    app[METRICS] = metrics
    lifetimes = [_gateway_directory]
    if broadcaster is not None:
        lifetimes.insert(0, functools.partial(_redis, broadcaster=broadcaster))
    if pusher is not None:
        app[LOGPUSH] = pusher
        lifetimes.append(functools.partial(_logpush, pusher=pusher))
    # Order matters on the way out (reverse): the upstream pools close first, then the log
    # writer flushes, then Logpush delivers what that stored, then the directory stops, then Redis.
    app.cleanup_ctx.extend([
        *lifetimes, _log_writer, metrics.sampling, _cache_janitor, _evaluator,
        functools.partial(_realtime_session, bridge=realtime),
        functools.partial(_upstream_session, cache=step_cache, guard=Guard(engine)),
    ])  # fmt: skip
    app.on_shutdown.extend([realtime.open.close_all, universal_ws.open.close_all])
    app.add_subapp(API_PREFIX, create_api_app(services, admin_token, bus=bus, refresh=reread))
    app.router.add_get("/healthz", health_handler(pipe.stats, settings.logs, engine, cache, pusher, broadcaster, directory.with_logpush))
    app.router.add_get("/metrics", metrics_handler(metrics, admin_token))
    app.router.add_route("*", "/v1/{account}/{gateway}/{provider}/{tail:[\\s\\S]*}", routes.provider)
    app.router.add_route("*", "/v1/{account}/{gateway}/{provider}", routes.provider)
    app.router.add_post("/v1/{account}/{gateway}", routes.universal)
    app.router.add_post("/v1/{account}/{gateway}/", routes.universal)
    app.router.add_get("/v1/{account}/{gateway}", universal_ws.handle)
    app.router.add_get("/v1/{account}/{gateway}/", universal_ws.handle)
    app.router.add_route("*", "/{tail:[\\s\\S]*}", _not_found)
    return app
