"""Gateway controls through the real proxy: authentication, rate limits, retries, timeouts,
universal fallbacks, and the cache."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode
from proxy_core.runner import RunningGateway
from proxy_core.server import FORWARDER, SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import stored_logs

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}
ADMIN = Actor("test", "API")


async def post(url: str, body: Any = CHAT, **headers: str) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers=headers) as resp:
            return resp.status, dict(resp.headers), await resp.read()


async def configure(gateway: RunningGateway, **settings: Any) -> None:
    await gateway.app[SERVICES].gateways.update("default", settings, ADMIN)


def chat_url(gateway: RunningGateway) -> str:
    return f"{gateway.gateway_url}/openai/chat/completions"


class Flaky:
    """An upstream that fails its first ``failures`` calls with ``status`` (0 = drop the connection)."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures, self.status, self.calls = failures, status, 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        await request.read()
        if self.calls <= self.failures:
            if self.status == 0:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            return web.json_response({"error": {"message": f"flaky {self.calls}"}}, status=self.status)
        return web.json_response({"id": "ok", "model": "gpt-4o-mini", "choices": [],
                                  "usage": {"prompt_tokens": 2, "completion_tokens": 3}})  # fmt: skip


@pytest.fixture
async def flaky_server():
    runners = []

    async def start(flaky: Flaky) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", flaky.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/v1"

    yield start
    for runner in runners:
        await runner.cleanup()


def record_sleeps(gateway: RunningGateway) -> list[float]:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    gateway.app[FORWARDER].sleep = fake_sleep
    return slept


# -- authentication ------------------------------------------------------------------------------


async def test_authenticated_gateway_four_cases(gateway: RunningGateway, upstream: Upstream) -> None:
    services = gateway.app[SERVICES]
    token = (await services.tokens.create("default", ADMIN, name="app")).secret
    bearer = {"cf-aig-authorization": f"Bearer {token}"}
    # off + header → ok; off + no header → ok
    assert (await post(chat_url(gateway), **bearer))[0] == 200
    assert (await post(chat_url(gateway)))[0] == 200
    await configure(gateway, authentication=True)
    # on + header → ok; on + no header → 401
    assert (await post(chat_url(gateway), **bearer))[0] == 200
    status, _, body = await post(chat_url(gateway))
    assert status == 401 and orjson.loads(body)["error"][0]["code"] == ErrorCode.UNAUTHORIZED
    assert (await post(chat_url(gateway), **{"cf-aig-authorization": "Bearer aigw_nope_x"}))[0] == 401
    # the token alone, as the reference's realtime example sends it (no Bearer scheme) → ok
    assert (await post(chat_url(gateway), **{"cf-aig-authorization": token}))[0] == 200
    assert (await post(chat_url(gateway), **{"cf-aig-authorization": "Basic " + token}))[0] == 401
    # the header is never forwarded upstream nor stored
    assert all("cf-aig-authorization" not in {k.lower() for k in r["headers"]} for r in upstream.requests)
    logs = await stored_logs(gateway)
    assert len(logs) == 4  # the three 401s are not logged
    tokens = await services.tokens.list("default")
    await services.tokens.revoke("default", tokens[0].id, ADMIN)
    assert (await post(chat_url(gateway), **bearer))[0] == 401
    data_dir = gateway.settings.data_dir
    await gateway.store.engine.dispose()
    blobs = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("aigw.db"))
    secret = token.split("_", 2)[2]  # "aigw_{id}_{secret}"; the secret may itself contain "_"
    assert secret.encode() not in blobs


# -- rate limiting -------------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after_logged_not_forwarded(
    gateway: RunningGateway, upstream: Upstream
) -> None:
    await configure(gateway, rate_limiting_limit=2, rate_limiting_interval=60, rate_limiting_technique="fixed")
    results = [await post(chat_url(gateway)) for _ in range(3)]
    assert [r[0] for r in results] == [200, 200, 429]
    status, headers, body = results[2]
    assert int(headers["Retry-After"]) >= 1
    assert orjson.loads(body)["error"][0]["code"] == ErrorCode.RATE_LIMITED
    assert len(upstream.requests) == 2
    logs = await stored_logs(gateway)
    assert [log["status_code"] for log in logs] == [200, 200, 429]


# -- retries, timeouts, backoff ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [("constant", [0.1, 0.1, 0.1, 0.1]), ("linear", [0.1, 0.2, 0.3, 0.4]), ("exponential", [0.1, 0.2, 0.4, 0.8])],
)
async def test_backoff_schedules(gateway_factory: GatewayFactory, flaky_server, backoff: str, expected: list) -> None:
    flaky = Flaky(failures=4)
    gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=await flaky_server(flaky))})
    slept = record_sleeps(gateway)
    status, _, _ = await post(
        chat_url(gateway), **{"cf-aig-max-attempts": "5", "cf-aig-retry-delay": "100", "cf-aig-backoff": backoff}
    )
    assert status == 200 and flaky.calls == 5
    assert slept == pytest.approx(expected)
    logs = await stored_logs(gateway)
    assert [log["status_code"] for log in logs] == [503, 503, 503, 503, 200]


async def test_connection_errors_are_retried_and_client_errors_are_not(gateway_factory: GatewayFactory, flaky_server) -> None:
    dropped = Flaky(failures=2, status=0)
    gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=await flaky_server(dropped))})
    record_sleeps(gateway)
    assert (await post(chat_url(gateway), **{"cf-aig-max-attempts": "3"}))[0] == 200
    assert dropped.calls == 3
    bad_request = Flaky(failures=5, status=400)
    gateway2 = await gateway_factory(providers={"openai": ProviderSettings(base_url=await flaky_server(bad_request))})
    status, _, _ = await post(chat_url(gateway2), **{"cf-aig-max-attempts": "5"})
    assert status == 400 and bad_request.calls == 1


async def test_gateway_retry_settings_apply_and_headers_override_them(
    gateway_factory: GatewayFactory, flaky_server
) -> None:
    flaky = Flaky(failures=10)
    gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=await flaky_server(flaky))})
    record_sleeps(gateway)
    await configure(gateway, retry_max_attempts=2, retry_delay=0, retry_backoff="constant")
    assert (await post(chat_url(gateway)))[0] == 503 and flaky.calls == 2
    assert (await post(chat_url(gateway), **{"cf-aig-max-attempts": "4"}))[0] == 503 and flaky.calls == 6


async def test_request_timeout_to_first_byte(gateway: RunningGateway) -> None:
    status, _, body = await post(
        chat_url(gateway), **{"cf-aig-request-timeout": "100", "x-mock-delay-ms": "1500"}
    )
    assert status == 504 and orjson.loads(body)["error"][0]["code"] == ErrorCode.UPSTREAM_TIMEOUT
    # a started stream is not cut by the timeout
    status, _, body = await post(
        chat_url(gateway), {**CHAT, "stream": True},
        **{"cf-aig-request-timeout": "300", "x-mock-chunk-delay-ms": "100"},
    )  # fmt: skip
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")


async def test_last_retry_waits_without_timeout(gateway: RunningGateway) -> None:
    record_sleeps(gateway)
    status, _, _ = await post(
        chat_url(gateway), **{"cf-aig-request-timeout": "100", "cf-aig-max-attempts": "2", "x-mock-delay-ms": "400"}
    )
    assert status == 200
    logs = await stored_logs(gateway)
    assert [(log["status_code"], log["error_code"]) for log in logs] == [(504, ErrorCode.UPSTREAM_TIMEOUT), (200, None)]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("cf-aig-max-attempts", "6"),
        ("cf-aig-max-attempts", "0"),
        ("cf-aig-retry-delay", "5001"),
        ("cf-aig-backoff", "fibonacci"),
        ("cf-aig-request-timeout", "soon"),
        ("cf-aig-cache-ttl", "30"),
        ("cf-aig-cache-ttl", "2592001"),
        ("cf-cache-ttl", "-1"),
        ("cf-aig-skip-cache", "perhaps"),
    ],
)
async def test_out_of_range_control_headers_are_400_naming_the_header(
    gateway: RunningGateway, upstream: Upstream, header: str, value: str
) -> None:
    status, _, body = await post(chat_url(gateway), **{header: value})
    assert status == 400 and header in orjson.loads(body)["error"][0]["message"]
    assert upstream.requests == []


# -- universal endpoint --------------------------------------------------------------------------


def universal_step(provider: str = "openai", **extra: Any) -> dict[str, Any]:
    step = {"provider": provider, "endpoint": "chat/completions",
            "headers": {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}, "query": CHAT}  # fmt: skip
    step.update(extra)
    return step


async def test_universal_fallback_after_a_timeout(gateway: RunningGateway) -> None:
    slow = universal_step(config={"requestTimeout": 100})
    slow["headers"]["x-mock-delay-ms"] = "1500"
    status, headers, body = await post(gateway.gateway_url, [slow, universal_step()], **{"cf-aig-event-id": "fb-1"})
    assert status == 200 and headers["cf-aig-step"] == "1"
    assert orjson.loads(body)["object"] == "chat.completion"
    logs = await stored_logs(gateway)
    assert [(log["step"], log["status_code"]) for log in logs] == [(0, 504), (1, 200)]
    assert {log["event_id"] for log in logs} == {"fb-1"}
    assert {log["request_type"] for log in logs} == {"universal"}


async def test_universal_every_step_fails(gateway: RunningGateway) -> None:
    steps = []
    for status in ("500", "503"):
        step = universal_step()
        step["headers"]["x-mock-status"] = status
        steps.append(step)
    status, headers, body = await post(gateway.gateway_url, steps)
    assert status == 503 and headers["cf-aig-step"] == "1"
    assert "mock error 503" in body.decode()
    logs = await stored_logs(gateway)
    assert [(log["step"], log["status_code"], log["success"]) for log in logs] == [(0, 500, False), (1, 503, False)]


async def test_universal_single_object_and_step_level_precedence(gateway: RunningGateway, upstream: Upstream) -> None:
    record_sleeps(gateway)
    step = universal_step(config={"maxAttempts": 2, "retryDelay": 10})
    step["headers"]["x-mock-status"] = "503"
    # request-level says 4 attempts; the step's config (provider level) wins with 2
    status, headers, _ = await post(gateway.gateway_url, step, **{"cf-aig-max-attempts": "4"})
    assert status == 503 and headers["cf-aig-step"] == "0"
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{nope", ErrorCode.MALFORMED_JSON),
        (b"[]", ErrorCode.BAD_REQUEST),
        (b'[{"provider": "openai"}]', ErrorCode.BAD_REQUEST),
        (b'[{"provider": "nope", "endpoint": "x"}]', ErrorCode.UNKNOWN_PROVIDER),
        (b'[{"provider": "openai", "endpoint": "../../etc"}]', ErrorCode.INVALID_PATH),
        (b'[{"provider": "openai", "endpoint": "x", "config": {"maxAttempts": 9}}]', ErrorCode.BAD_REQUEST),
    ],
)
async def test_universal_bad_requests(gateway: RunningGateway, payload: bytes, code: int) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(gateway.gateway_url, data=payload) as resp:
            body = await resp.json()
    assert body["error"][0]["code"] == code


# -- cache ---------------------------------------------------------------------------------------


async def test_cache_miss_then_hit_costs_zero(gateway: RunningGateway, upstream: Upstream) -> None:
    await configure(gateway, cache_ttl=300)
    first = await post(chat_url(gateway), authorization="Bearer sk-one")
    await gateway.app[FORWARDER].drain()
    second = await post(chat_url(gateway), authorization="Bearer sk-one")
    assert first[1]["cf-aig-cache-status"] == "MISS" and second[1]["cf-aig-cache-status"] == "HIT"
    assert first[2] == second[2] and len(upstream.requests) == 1
    logs = await stored_logs(gateway)
    assert [log["cached"] for log in logs] == [False, True]
    assert logs[0]["cost"] > 0 and logs[1]["cost"] == 0
    # a different body is a different entry
    other = await post(chat_url(gateway), {**CHAT, "temperature": 0.5}, authorization="Bearer sk-one")
    assert other[1]["cf-aig-cache-status"] == "MISS"


async def test_cache_is_not_shared_between_api_keys(gateway: RunningGateway, upstream: Upstream) -> None:
    await configure(gateway, cache_ttl=300)
    await post(chat_url(gateway), authorization="Bearer sk-one")
    await gateway.app[FORWARDER].drain()
    status, headers, _ = await post(chat_url(gateway), authorization="Bearer sk-two")
    assert headers["cf-aig-cache-status"] == "MISS" and len(upstream.requests) == 2


async def test_cache_ttl_expiry_skip_and_errors_not_cached(gateway: RunningGateway, upstream: Upstream) -> None:
    forwarder = gateway.app[FORWARDER]
    now = [1_800_000_000_000]
    assert forwarder.cache is not None
    forwarder.cache.now_ms = lambda: now[0]
    assert (await post(chat_url(gateway), **{"cf-aig-cache-ttl": "60"}))[1]["cf-aig-cache-status"] == "MISS"
    await forwarder.drain()
    assert (await post(chat_url(gateway), **{"cf-aig-cache-ttl": "60"}))[1]["cf-aig-cache-status"] == "HIT"
    assert (await post(chat_url(gateway), **{"cf-aig-skip-cache": "true"}))[1]["cf-aig-cache-status"] == "MISS"
    now[0] += 61_000
    assert (await post(chat_url(gateway), **{"cf-aig-cache-ttl": "60"}))[1]["cf-aig-cache-status"] == "MISS"
    assert len(upstream.requests) == 3
    failing = {"cf-aig-cache-ttl": "60", "x-mock-status": "500"}
    await post(chat_url(gateway), {**CHAT, "n": 2}, **failing)
    await forwarder.drain()
    assert (await post(chat_url(gateway), {**CHAT, "n": 2}, **failing))[1]["cf-aig-cache-status"] == "MISS"


async def test_custom_cache_key_caches_with_gateway_caching_off(gateway: RunningGateway, upstream: Upstream) -> None:
    first = await post(chat_url(gateway), **{"cf-aig-cache-key": "answer-a"})
    await gateway.app[FORWARDER].drain()
    second = await post(chat_url(gateway), {**CHAT, "temperature": 1}, **{"cf-aig-cache-key": "answer-a"})
    assert second[1]["cf-aig-cache-status"] == "HIT" and second[2] == first[2]
    assert len(upstream.requests) == 1


async def test_streamed_answers_are_cached_and_replayed_as_a_stream(gateway: RunningGateway, upstream: Upstream) -> None:
    await configure(gateway, cache_ttl=300)
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    first = await post(chat_url(gateway), body)
    await gateway.app[FORWARDER].drain()
    second = await post(chat_url(gateway), body)
    assert second[1]["cf-aig-cache-status"] == "HIT"
    assert second[1]["Content-Type"].startswith("text/event-stream")
    assert second[2] == first[2] and second[2].endswith(b"data: [DONE]\n\n")
    logs = await stored_logs(gateway)
    assert logs[1]["cached"] and logs[1]["streamed"] and logs[1]["tokens_in"] == logs[0]["tokens_in"]


async def test_invalidate_on_update_clears_the_gateways_cache(gateway: RunningGateway, upstream: Upstream) -> None:
    await configure(gateway, cache_ttl=300, cache_invalidate_on_update=True)
    await post(chat_url(gateway))
    await gateway.app[FORWARDER].drain()
    await configure(gateway, cache_ttl=600)
    assert (await post(chat_url(gateway)))[1]["cf-aig-cache-status"] == "MISS"
    assert len(upstream.requests) == 2
