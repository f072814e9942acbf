"""Prometheus metrics at ``GET /metrics``, behind the admin token (``prometheus-client``).

What is counted, labelled ``gateway``, ``provider``, ``model``: requests, errors (``success`` false),
cache hits, tokens (``direction`` in/out), cost, and histograms of the duration and of the time to
the upstream's first byte. Per gateway: rate-limit rejections and guardrail verdicts (``stage``
prompt/response, ``action`` passed/flagged/blocked). Per process: the log queue depth, logs
dropped and batch write failures, and per gateway the Logpush lag (age of the oldest record not
delivered yet). In a ``--workers`` group: ``aigw_worker_up`` and ``aigw_worker_requests_total`` by
``worker``.

Cost on the request path: none. The log pipe hands each finished batch's rows to
:meth:`GatewayMetrics.observe` once, after the client has its answer, in the writer task; a row
costs a dict lookup for its cached label children, two histogram observations and a few
additions; the counters are incremented once per label set per batch. Queue, drop and
Logpush figures are read when scraped (and every few seconds in a ``--workers`` group, so every
worker's file is fresh whichever worker answers the scrape).

Bounded labels: gateway ids are the operator's; providers and models come from traffic, so at most
:data:`MAX_PROVIDERS` providers and :data:`MAX_MODELS` models are named (per process, first come);
later ones are counted under ``other``.

``--workers``: each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (a temporary
directory the supervisor owns); whichever worker answers a scrape adds up every process's files
(``MultiProcessCollector``): counters and histograms summed, queue depth summed over live workers,
Logpush lag the largest among live workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, AsyncIterator, Callable, Iterable, Mapping, Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from proxy_core.api import admin_authorized
from proxy_core.api.envelope import ApiCode, fail
from proxy_core.errors import ErrorCode
from proxy_core.logpipe import PipeStats
from proxy_core.logpush.state import LogpushStatus

__all__ = ["GatewayMetrics", "MAX_MODELS", "MAX_PROVIDERS", "OTHER", "metrics_handler", "multiprocess_dir"]

MAX_PROVIDERS = 64
MAX_MODELS = 500
OTHER = "other"
_SAMPLE_EVERY_S = 5.0
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LABELS = ("gateway", "provider", "model")


def multiprocess_dir() -> str | None:
    """The directory of a ``--workers`` group's metric files, or ``None`` in a single process."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class GatewayMetrics:
    """This process's collectors; :meth:`observe` per batch of finished logs, :meth:`render` to scrape."""

    def __init__(
        self,
        pipe_stats: Callable[[], PipeStats],
        logpush: Callable[[], Iterable[LogpushStatus]] | None = None,
        *,
        shared_dir: str | None = None,
        worker_id: str | None = None,
    ) -> None:
        self._pipe_stats = pipe_stats
        self._logpush = logpush
        self._shared_dir = shared_dir
        self._own = CollectorRegistry(auto_describe=True)
        r = self._own
        self.requests = Counter("aigw_requests", "Requests finished (logged or only tallied)", _LABELS, registry=r)
        self.errors = Counter("aigw_errors", "Requests that did not succeed", _LABELS, registry=r)
        self.cache_hits = Counter("aigw_cache_hits", "Requests answered from the cache", _LABELS, registry=r)
        self.tokens = Counter("aigw_tokens", "Tokens reported by providers", (*_LABELS, "direction"), registry=r)
        self.cost = Counter("aigw_cost_usd", "Cost in US dollars (cache hits cost 0)", _LABELS, registry=r)
        self.duration = Histogram(
            "aigw_request_duration_seconds", "Arrival to last byte sent", _LABELS, buckets=_LATENCY_BUCKETS, registry=r
        )
        self.ttfb = Histogram(
            "aigw_time_to_first_byte_seconds", "Arrival to the upstream's first byte", _LABELS,
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.rate_limited = Counter("aigw_rate_limited", "Requests refused by a rate limit", ("gateway",), registry=r)
        self.guardrail = Counter(
            "aigw_guardrail_verdicts", "Guardrail verdicts per stage", ("gateway", "stage", "action"), registry=r
        )
        self.queue_depth = Gauge(
            "aigw_log_queue_depth", "Finished requests waiting for the log store", registry=r, multiprocess_mode="livesum"
        )
        self.logs_dropped = Counter("aigw_logs_dropped", "Logs not kept (queue full or closed)", registry=r)
        self.write_failures = Counter("aigw_log_write_failures", "Log batches the store refused (retried)", registry=r)
        self.logpush_lag = Gauge(
            "aigw_logpush_lag_seconds", "Age of the oldest log not delivered by Logpush yet", ("gateway",),
            registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self._worker_requests = None
        if worker_id:  # a --workers group: how the kernel spreads the load, one series per worker
            Gauge("aigw_worker_up", "1 per live worker of the group", ("worker",), registry=r,
                  multiprocess_mode="livesum").labels(worker_id).set(1)  # fmt: skip
            self._worker_requests = Counter(
                "aigw_worker_requests", "Requests finished per worker", ("worker",), registry=r
            ).labels(worker_id)
        self._children: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._providers: set[str] = set()
        self._models: set[tuple[str, str]] = set()
        self._seen_dropped = 0
        self._seen_failures = 0

    # -- finished requests (the log pipe's writer task) ---------------------------------------------

    def observe(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Count one batch of finished requests (log rows, stored or only tallied): counters are
        summed per label set first and incremented once per batch; histograms observe each row."""
        if self._worker_requests is not None:
            self._worker_requests.inc(len(rows))
        sums: dict[tuple[str, str, str], list[Any]] = {}
        for row in rows:
            gateway = row["gateway_id"]
            key = (gateway, row["provider"], row["model"] or "")
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = [0, 0, 0, 0, 0, 0.0]
            acc[0] += 1
            acc[1] += not row["success"]
            acc[2] += bool(row["cached"])
            acc[3] += row["tokens_in"] or 0
            acc[4] += row["tokens_out"] or 0
            acc[5] += row["cost"] or 0.0
            children = self._labelled(*key)
            children[6].observe(row["duration"] / 1000)
            if row["ttfb"] is not None:
                children[7].observe(row["ttfb"] / 1000)
            if row["error_code"] == ErrorCode.RATE_LIMITED:
                self.rate_limited.labels(gateway).inc()
            verdicts = row["guardrails"]
            if isinstance(verdicts, dict):
                for stage, part in (verdicts.get("stages") or {}).items():
                    if isinstance(part, dict) and part.get("action"):
                        self.guardrail.labels(gateway, stage, part["action"]).inc()
        for key, acc in sums.items():
            for child, amount in zip(self._labelled(*key), acc):
                if amount:
                    child.inc(amount)

    def _labelled(self, gateway: str, provider: str, model: str | None) -> tuple[Any, ...]:
        key = (gateway, provider, model or "")
        children = self._children.get(key)
        if children is None:
            labels = (gateway, self._provider_label(provider), self._model_label(provider, model or ""))
            children = (
                self.requests.labels(*labels), self.errors.labels(*labels), self.cache_hits.labels(*labels),
                self.tokens.labels(*labels, "in"), self.tokens.labels(*labels, "out"), self.cost.labels(*labels),
                self.duration.labels(*labels), self.ttfb.labels(*labels),
            )  # fmt: skip
            if len(self._children) < 4 * MAX_MODELS:  # the raw keys are bounded too
                self._children[key] = children
        return children

    def _provider_label(self, provider: str) -> str:
        if provider in self._providers or len(self._providers) < MAX_PROVIDERS:
            self._providers.add(provider)
            return provider
        return OTHER

    def _model_label(self, provider: str, model: str) -> str:
        key = (provider, model)
        if key in self._models or len(self._models) < MAX_MODELS:
            self._models.add(key)
            return model
        return OTHER

    # -- process state, read when scraped ---------------------------------------------------------

    def sample(self) -> None:
        """Bring the queue, drop and Logpush figures up to date."""
        stats = self._pipe_stats()
        self.queue_depth.set(stats.queued)
        if stats.dropped > self._seen_dropped:
            self.logs_dropped.inc(stats.dropped - self._seen_dropped)
            self._seen_dropped = stats.dropped
        if stats.write_failures > self._seen_failures:
            self.write_failures.inc(stats.write_failures - self._seen_failures)
            self._seen_failures = stats.write_failures
        if self._logpush is not None:
            now_ms = int(time.time() * 1000)
            for status in self._logpush():
                self.logpush_lag.labels(status.gateway_id).set(status.lag_ms(now_ms) / 1000)

    def render(self) -> bytes:
        """The exposition text: this process's, or every ``--workers`` process's added up."""
        self.sample()
        if self._shared_dir is None:
            return generate_latest(self._own)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self._shared_dir)
        return generate_latest(merged)

    async def sampling(self, app: web.Application) -> AsyncIterator[None]:
        """A ``cleanup_ctx`` lifetime: in a ``--workers`` group, refresh this worker's figures every
        few seconds (a scrape answered by a sibling reads them from the file)."""
        task = None
        if self._shared_dir is not None:
            task = asyncio.get_running_loop().create_task(self._sample_forever(), name="aigw-metrics-sampler")
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sample_forever(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(_SAMPLE_EVERY_S)


def metrics_handler(metrics: GatewayMetrics, admin_token: str) -> Callable[[web.Request], Any]:
    """``GET /metrics`` for a bearer of the admin token (Prometheus: ``authorization: credentials_file``)."""

    async def handler(request: web.Request) -> web.Response:
        if not admin_authorized(request, admin_token):
            return fail(401, ApiCode.AUTH, "Authentication error: a valid admin bearer token is required")
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler
