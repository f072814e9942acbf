"""Provider passthrough: URL mapping for every provider, headers, logging headers, streaming."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from aiohttp import web
from yarl import URL

from sqlalchemy import func, select

from proxy_core.config import ProviderSettings
from proxy_core.providers.registry import BUILTIN_PROVIDERS
from proxy_core.server import SERVICES
from proxy_core.services import Actor
from proxy_core.store.models import LogRollup
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import serving, only_log, stored_logs

# provider → (client path below the provider segment, expected path at the upstream)
# The test bases keep each provider's placeholders, so filling them is tested too.
CASES = {
    "openai": ("/chat/completions", "/openai/chat/completions"),
    "anthropic": ("/v1/messages", "/anthropic/v1/messages"),
    "azure-openai": ("/myres/mydeploy/chat/completions", "/azure/myres/mydeploy/chat/completions"),
    "aws-bedrock": (
        "/bedrock-runtime/us-east-1/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
        "/bedrock/us-east-1/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
    ),
    "cartesia": ("/tts/bytes", "/cartesia/tts/bytes"),
    "cerebras": ("/chat/completions", "/cerebras/chat/completions"),
    "cerebras-ai": ("/chat/completions", "/cerebras-ai/chat/completions"),
    "cohere": ("/v2/chat", "/cohere/v2/chat"),
    "deepseek": ("/chat/completions", "/deepseek/chat/completions"),
    "elevenlabs": ("/v1/text-to-speech/voice123", "/elevenlabs/v1/text-to-speech/voice123"),
    "google-ai-studio": (
        "/v1beta/models/gemini-2.0-flash:generateContent",
        "/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent",
    ),
    "grok": ("/v1/chat/completions", "/grok/v1/chat/completions"),
    "groq": ("/chat/completions", "/groq/chat/completions"),
    "mistral": ("/v1/chat/completions", "/mistral/v1/chat/completions"),
    "huggingface": ("/bigscience/bloom", "/huggingface/bigscience/bloom"),
    "openrouter": ("/v1/chat/completions", "/openrouter/v1/chat/completions"),
    "perplexity-ai": ("/chat/completions", "/perplexity-ai/chat/completions"),
    "replicate": ("/predictions", "/replicate/predictions"),
    "google-vertex-ai": (
        "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-pro:generateContent",
        "/vertex/us-central1/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-pro:generateContent",
    ),
    "workers-ai": ("/@cf/meta/llama-3.1-8b-instruct", "/workers/local/@cf/meta/llama-3.1-8b-instruct"),
}

TEST_BASES = {
    "azure-openai": "/azure/{resource}/{deployment}",
    "aws-bedrock": "/bedrock/{region}",
    "google-vertex-ai": "/vertex/{region}",
    "workers-ai": "/workers/{account}",
}


def echo_providers(upstream: Upstream) -> dict[str, ProviderSettings]:
    out = {}
    for spec in BUILTIN_PROVIDERS:
        suffix = TEST_BASES.get(spec.name, f"/{spec.name}")
        out[spec.name] = ProviderSettings(base_url=upstream.url + suffix)
    return out


def test_every_builtin_provider_has_a_case() -> None:
    assert set(CASES) == {spec.name for spec in BUILTIN_PROVIDERS}


@pytest.mark.parametrize("provider", sorted(CASES))
async def test_provider_path_maps_to_upstream_with_headers_intact(
    provider: str, gateway_factory: GatewayFactory, upstream: Upstream
) -> None:
    gateway = await gateway_factory(providers=echo_providers(upstream))
    client_path, upstream_path = CASES[provider]
    headers = {
        "authorization": "Bearer sk-live-abc",
        "x-api-key": "k-123",
        "x-goog-api-key": "g-456",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "x-custom-header": "kept",
        "cf-aig-metadata": '{"user": "alice"}',
        "cf-aig-event-id": "evt-1",
        "connection": "keep-alive",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(
            URL(f"{gateway.gateway_url}/{provider}{client_path}?alpha=1&key=secret-query-key", encoded=True),
            data=b'{"model": "m-1"}',
            headers=headers,
        ) as resp:
            assert resp.status == 200, await resp.text()
            echo = await resp.json()
            assert resp.headers["cf-aig-event-id"] == "evt-1"
    assert echo["path"] == upstream_path
    assert echo["query"] == "alpha=1&key=secret-query-key"
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["authorization"] == "Bearer sk-live-abc"
    assert sent["x-api-key"] == "k-123"
    assert sent["x-goog-api-key"] == "g-456"
    assert sent["anthropic-version"] == "2023-06-01"
    assert sent["x-custom-header"] == "kept"
    assert not any(name.startswith("cf-aig-") for name in sent)
    assert sent["host"] == f"127.0.0.1:{upstream.port}"
    log = await only_log(gateway)
    assert log["provider"] == provider
    assert log["metadata"] == {"user": "alice"}
    assert log["event_id"] == "evt-1"
    assert "secret-query-key" not in log["path"]
    assert "key=[REDACTED]" in log["path"]


async def test_google_ai_studio_json_and_sse_usage(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    body = {"contents": [{"role": "user", "parts": [{"text": "tell me about gateways"}]}]}
    base = f"{gateway.gateway_url}/google-ai-studio/v1beta/models/gemini-2.0-flash"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}:generateContent", json=body, headers={"x-goog-api-key": "g"}) as resp:
            answer = await resp.json()
        async with session.post(f"{base}:streamGenerateContent?alt=sse", json=body) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            streamed = await resp.read()
        async with session.post(f"{base}:streamGenerateContent", json=body) as resp:
            array = await resp.json()
    assert streamed.count(b"data: ") >= 2
    assert isinstance(array, list) and array[-1]["usageMetadata"]
    usage = answer["usageMetadata"]
    logs = await stored_logs(gateway)
    assert len(logs) == 3
    for log in logs:
        assert log["model"] == "gemini-2.0-flash"
        assert log["model_type"] == "text-generation"
        assert log["tokens_in"] == usage["promptTokenCount"]
        assert log["tokens_out"] == usage["candidatesTokenCount"]
        assert log["cost"] == pytest.approx((usage["promptTokenCount"] * 0.1 + usage["candidatesTokenCount"] * 0.4) / 1e6)
    assert [log["streamed"] for log in logs] == [False, True, True]


async def test_custom_provider_from_config(gateway_factory: GatewayFactory, upstream: Upstream) -> None:
    providers = {"my-ollama": ProviderSettings(base_url=f"{upstream.url}/v1", format="openai")}
    gateway = await gateway_factory(providers=providers)
    async with aiohttp.ClientSession() as session:
        body = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
        async with session.post(f"{gateway.gateway_url}/my-ollama/chat/completions", json=body) as resp:
            assert resp.status == 200
    log = await only_log(gateway)
    assert log["provider"] == "my-ollama" and log["model"] == "llama3" and log["tokens_in"] == 1
    assert log["cost"] is None  # not in the pricing table: no guess


async def test_custom_cost_header_overrides_table_and_is_flagged(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one two three"}]}
    cost = '{"per_token_in": 0.001, "per_token_out": 0.002}'
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway.gateway_url}/openai/chat/completions", json=body, headers={"cf-aig-custom-cost": cost}
        ) as resp:
            usage = (await resp.json())["usage"]
    log = await only_log(gateway)
    assert log["custom_cost"]
    assert log["cost"] == pytest.approx(usage["prompt_tokens"] * 0.001 + usage["completion_tokens"] * 0.002)


@pytest.mark.parametrize("how", ["header", "gateway"])
async def test_a_request_not_collected_stores_no_log_but_counts_in_analytics(gateway_factory: GatewayFactory, how: str) -> None:
    """As the reference says: ``cf-aig-collect-log: false`` (or ``collect_logs`` off) is not logged."""
    gateway = await gateway_factory()
    headers = {"cf-aig-collect-log": "false"} if how == "header" else {}
    if how == "gateway":
        await gateway.app[SERVICES].gateways.update("default", {"collect_logs": False}, Actor("t", "API"))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "private"}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=headers) as resp:
            assert resp.status == 200 and resp.headers["cf-aig-log-id"]
    assert await stored_logs(gateway) == []
    async with gateway.store.engine.connect() as conn:
        requests, tokens_in = (await conn.execute(select(func.sum(LogRollup.requests), func.sum(LogRollup.tokens_in)))).one()
    assert requests == 1 and tokens_in > 0  # usage still counted for analytics


async def test_metadata_keeps_five_entries(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    metadata = {f"k{i}": i for i in range(7)}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway.gateway_url}/openai/chat/completions",
            json={"model": "gpt-4o-mini", "messages": []},
            headers={"cf-aig-metadata": orjson.dumps(metadata).decode()},
        ) as resp:
            assert resp.status == 200
    log = await only_log(gateway)
    assert log["metadata"] == {f"k{i}": i for i in range(5)}


async def test_chunks_reach_the_client_before_the_upstream_finishes(gateway_factory: GatewayFactory) -> None:
    """The upstream sends one chunk, then waits until the client has seen it through the proxy."""
    client_saw_first_chunk = asyncio.Event()

    async def slow_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"n": 1}\n\n')
        await client_saw_first_chunk.wait()  # deadlocks if the proxy buffers the stream
        await response.write(b'data: {"n": 2}\n\ndata: [DONE]\n\n')
        await response.write_eof()
        return response

    async with serving(slow_stream) as base:
        gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=base)})
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json={"stream": True}) as resp:
                first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), timeout=10)
                assert first == b'data: {"n": 1}\n\n'
                client_saw_first_chunk.set()
                rest = await resp.read()
        assert rest.endswith(b"data: [DONE]\n\n")
        log = await only_log(gateway)
        assert log["streamed"] and log["success"]


async def test_binary_bodies_pass_through_untouched(gateway_factory: GatewayFactory) -> None:
    audio = bytes(range(256)) * 4096  # 1 MiB of every byte value

    async def speech(request: web.Request) -> web.Response:
        assert await request.read() == audio[:1000]
        return web.Response(body=audio, content_type="audio/mpeg")

    async with serving(speech, "/v1/text-to-speech/v1") as base:
        gateway = await gateway_factory(providers={"elevenlabs": ProviderSettings(base_url=base.removesuffix("/v1"))})
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{gateway.gateway_url}/elevenlabs/v1/text-to-speech/v1",
                data=audio[:1000],
                headers={"content-type": "application/octet-stream"},
            ) as resp:
                assert resp.headers["content-type"] == "audio/mpeg"
                assert await resp.read() == audio
        log = await only_log(gateway)
        assert log["model_type"] == "audio" and log["response_size"] == len(audio)


async def test_healthz(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.base_url}/healthz") as resp:
            body = await resp.json()
    assert body["status"] == "ok" and body["logs"]["dropped"] == 0
