"""``GET /metrics``: scraped after known traffic and parsed with prometheus_client's own parser."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from proxy_core.metrics import MAX_MODELS, OTHER, GatewayMetrics
from proxy_core.logpipe import PipeStats
from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE
from tests.integration.test_controls import chat_url, configure, post

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over every series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


async def scrape(gateway: RunningGateway, token: str | None) -> tuple[int, str, str]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.base_url}/metrics", headers=headers) as resp:
            return resp.status, resp.headers.get("content-type", ""), await resp.text()


async def test_metrics_count_known_traffic(gateway: RunningGateway) -> None:
    await configure(gateway, cache_ttl=300, rate_limiting_limit=3, rate_limiting_interval=60,
                    rate_limiting_technique="fixed")  # fmt: skip
    other = {"model": "gpt-4o", "messages": [{"role": "user", "content": "another"}]}
    statuses = [(await post(chat_url(gateway)))[0], (await post(chat_url(gateway)))[0],
                (await post(chat_url(gateway), other))[0], (await post(chat_url(gateway)))[0]]  # fmt: skip
    assert statuses == [200, 200, 200, 429]
    await gateway.app[PIPE].flush()

    status, content_type, text = await scrape(gateway, gateway.admin_token)
    assert status == 200 and content_type.startswith("text/plain")
    samples = parse(text)
    mini = {"gateway": "default", "provider": "openai", "model": "gpt-4o-mini"}
    assert total(samples, "aigw_requests_total", gateway="default") == 4
    assert total(samples, "aigw_requests_total", **mini) == 2
    assert total(samples, "aigw_requests_total", model="gpt-4o") == 1
    assert total(samples, "aigw_cache_hits_total", **mini) == 1
    assert total(samples, "aigw_errors_total", gateway="default") == 1  # the 429
    assert total(samples, "aigw_rate_limited_total", gateway="default") == 1
    assert total(samples, "aigw_request_duration_seconds_count", gateway="default") == 4
    assert total(samples, "aigw_time_to_first_byte_seconds_count", **mini) == 1  # the miss; a hit has no upstream
    assert total(samples, "aigw_tokens_total", direction="in", **mini) > 0
    assert total(samples, "aigw_tokens_total", direction="out", **mini) > 0
    assert total(samples, "aigw_cost_usd_total", **mini) > 0
    assert total(samples, "aigw_log_queue_depth") == 0
    assert total(samples, "aigw_logs_dropped_total") == 0


async def test_metrics_need_the_admin_token(gateway: RunningGateway) -> None:
    assert (await scrape(gateway, None))[0] == 401
    assert (await scrape(gateway, "not-the-token"))[0] == 401


def _row(model: str, **fields: Any) -> dict[str, Any]:
    base = {"gateway_id": "g", "provider": "openai", "model": model, "success": True, "cached": False,
            "tokens_in": None, "tokens_out": None, "cost": None, "duration": 12, "ttfb": 5, "error_code": None,
            "guardrails": None}  # fmt: skip
    return {**base, **fields}


def _metrics() -> GatewayMetrics:
    return GatewayMetrics(lambda: PipeStats(queued=3, queued_bytes=0, written=0, dropped=2, write_failures=0,
                                            last_error=None))  # fmt: skip


def test_model_labels_are_bounded_the_rest_counted_as_other() -> None:
    metrics = _metrics()
    metrics.observe([_row(f"model-{i}") for i in range(MAX_MODELS + 50)])
    samples = parse(metrics.render().decode())
    models = {dict(labels)["model"] for (name, labels) in samples if name == "aigw_requests_total"}
    assert len(models) == MAX_MODELS + 1 and OTHER in models
    assert total(samples, "aigw_requests_total", model=OTHER) == 50
    assert total(samples, "aigw_requests_total") == MAX_MODELS + 50
    assert total(samples, "aigw_log_queue_depth") == 3 and total(samples, "aigw_logs_dropped_total") == 2


def test_guardrail_verdicts_are_counted_per_stage() -> None:
    metrics = _metrics()
    verdicts = {"action": "blocked", "stages": {"prompt": {"action": "flagged"}, "response": {"action": "blocked"}}}
    metrics.observe([_row("m", guardrails=verdicts, success=False), _row("m", guardrails={"action": "passed",
                     "stages": {"prompt": {"action": "passed"}}})])  # fmt: skip
    samples = parse(metrics.render().decode())
    assert total(samples, "aigw_guardrail_verdicts_total", stage="prompt", action="flagged") == 1
    assert total(samples, "aigw_guardrail_verdicts_total", stage="prompt", action="passed") == 1
    assert total(samples, "aigw_guardrail_verdicts_total", stage="response", action="blocked") == 1
    assert total(samples, "aigw_errors_total") == 1
