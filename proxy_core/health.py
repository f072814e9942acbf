"""``GET /healthz``: whether this gateway serves, and whether its log pipeline keeps up.

``status`` is ``"ok"``, or ``"degraded"`` with ``reasons`` (each a stable code, a colon, and what
was seen): ``log_store_failing`` (the store refuses writes), ``log_queue_high`` (the log queue is
over half its bound), ``log_backpressure`` (requests are being held for room in the queue),
``logpush_failing`` (a gateway's files are not being delivered), ``redis_unreachable`` (the
processes' shared Redis is down: each counts rate limits on its own meanwhile) and, when
``?evaluator`` asks for it, ``guardrails_evaluator_unreachable``.

The HTTP status stays 200 when degraded. A health check's status decides whether a load balancer
sends traffic here; a failing log store does not stop the gateway answering (logging is off the
response path and what cannot be written waits in the queue and the crash spool), and a store
shared by every instance would take them all out of rotation at once. Monitoring should read
``status`` and ``reasons``.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson
from aiohttp import web

from proxy_core.cache import SqlCacheBackend
from proxy_core.config import LogSettings
from proxy_core.guardrails import GuardrailEngine
from proxy_core.logpipe import PipeStats
from proxy_core.logpush import LogPusher

if TYPE_CHECKING:  # Redis's client is imported only by a process configured to use it
    from proxy_core.shared import Broadcaster

__all__ = ["assess", "health_body", "health_handler", "logpush_part", "redis_part"]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def assess(stats: PipeStats, settings: LogSettings) -> list[str]:
    """What is wrong with the log pipeline right now; empty when nothing is."""
    reasons: list[str] = []
    if stats.failing_since_ms is not None or stats.last_error is not None:
        since = f" since {_iso(stats.failing_since_ms)}" if stats.failing_since_ms is not None else ""
        reasons.append(
            f"log_store_failing: the store refuses writes{since} ({stats.write_failures} refused so far); "
            f"last error: {stats.last_error or 'unknown'}"
        )
    max_entries = stats.queue_max_entries or settings.queue_max_entries
    if stats.queued * 2 > max_entries or stats.queued_bytes * 2 > settings.queue_max_bytes:
        reasons.append(
            f"log_queue_high: {stats.queued} of {max_entries} entries, "
            f"{stats.queued_bytes} of {settings.queue_max_bytes} bytes queued"
        )
    if stats.waiting > 0:
        reasons.append(f"log_backpressure: {stats.waiting} requests held until the log queue has room")
    return reasons


def health_body(stats: PipeStats, settings: LogSettings) -> dict[str, Any]:
    """The ``/healthz`` document without the (on-demand) guardrails part."""
    reasons = assess(stats, settings)
    logs = dataclasses.asdict(stats)
    logs["queue_max_entries"] = stats.queue_max_entries or settings.queue_max_entries
    return {"status": "degraded" if reasons else "ok", "reasons": reasons, "logs": logs}


def logpush_part(pusher: LogPusher, now_ms: int) -> tuple[dict[str, Any], list[str]]:
    """``/healthz``'s ``logpush`` part (per gateway: last delivery, lag, pending, errors, drops) and
    the reasons it gives for ``degraded``."""
    gateways: dict[str, Any] = {}
    reasons: list[str] = []
    for status in pusher.statuses():
        lag_ms = status.lag_ms(now_ms)
        gateways[status.gateway_id] = {
            "last_delivery": _iso(status.last_delivery_at) if status.last_delivery_at is not None else None,
            "lag_ms": lag_ms,
            "pending": status.pending_records,
            "delivered": status.delivered_records,
            "errors": status.failures,
            "last_error": status.last_error,
            "dropped": status.dropped_records,
        }
        if status.last_error is not None:
            reasons.append(
                f"logpush_failing: gateway {status.gateway_id}: {status.pending_records} records waiting "
                f"{lag_ms // 1000}s; last error: {status.last_error}"
            )
    part = {"destination": pusher.description, "spool_bytes": pusher.spool_bytes, "gateways": gateways}
    return part, reasons


def redis_part(broadcaster: Broadcaster) -> tuple[dict[str, Any], list[str]]:
    """``/healthz``'s ``redis`` part (the broadcaster's link and events) and the reason it gives
    for ``degraded`` (Redis down)."""
    link = broadcaster.link
    down_since = _iso(link.down_since_ms) if link.down_since_ms is not None else None
    part: dict[str, Any] = {
        "url": link.description,
        "status": "ok" if link.up else "down",
        "down_since": down_since,
        "last_error": link.last_error,
        "calls_without_redis": link.failures,
        "events": {
            "sent": broadcaster.events_sent,
            "received": broadcaster.events_received,
            "dropped": broadcaster.events_dropped,
        },
    }
    if link.up:
        return part, []
    return part, [
        f"redis_unreachable: {link.description} since {down_since} ({link.last_error}); rate limits count "
        "per process, the cache uses memory and the store, settings are polled"
    ]


def health_handler(
    stats: Callable[[], PipeStats],
    settings: LogSettings,
    engine: GuardrailEngine,
    cache: SqlCacheBackend,
    pusher: LogPusher | None = None,
    broadcaster: Broadcaster | None = None,
    logpush_gateways: Callable[[], list[str]] | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``/healthz`` handler over the log pipe's ``stats``, the guardrails ``engine``, the
    response ``cache`` (its reads that outlasted their deadline: a store slow to answer) and the
    Logpush ``pusher`` when a destination is configured (without one, ``logpush_gateways`` names
    the gateways whose Logpush is on and goes nowhere), and the Redis ``broadcaster`` (with its
    link) when processes share one."""

    async def healthz(request: web.Request) -> web.Response:
        body = health_body(stats(), settings)
        body["cache"] = {"slow_reads": cache.slow_reads}
        parts = []
        if pusher is not None:
            parts.append(("logpush", logpush_part(pusher, int(time.time() * 1000))))
        elif logpush_gateways is not None and (unexported := logpush_gateways()):
            parts.append(("logpush", ({"destination": None, "gateways": {}}, [
                f"logpush_unconfigured: {', '.join(unexported)}: Logpush is on but [logpush] destination is "
                "empty, so no log of these gateways is exported"
            ])))  # fmt: skip
        if broadcaster is not None:
            parts.append(("redis", redis_part(broadcaster)))
        for name, (part, reasons) in parts:
            body[name] = part
            if reasons:
                body["reasons"].extend(reasons)
                body["status"] = "degraded"
        if "evaluator" in request.query:  # asked for: a remote evaluator's health costs a round trip
            evaluator = engine.evaluator
            healthy, detail = await evaluator.health()
            body["guardrails"] = {"evaluator": evaluator.name, "healthy": healthy, "detail": detail}
            if not healthy:
                body["reasons"].append(f"guardrails_evaluator_unreachable: {evaluator.name}: {detail}")
                body["status"] = "degraded"
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    return healthz
