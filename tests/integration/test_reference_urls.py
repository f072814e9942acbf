"""The reference's SDK examples, unchanged but for the host, reach the provider's real upstream path.

Each provider page of the reference gives a base URL for an SDK; most end at the provider segment
(``…/anthropic``, ``…/grok``, ``…/openrouter``), and the SDK then appends its own paths, which may
or may not carry the provider's ``/v1`` (and the reference's curl examples carry it). The mock
upstream records the path it received; the test bases keep each real base URL's path part
(``/api`` for OpenRouter, ``/openai/v1`` for Groq) so the recorded path is the real upstream path.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import anthropic
import openai
import orjson
import pytest

from proxy_core.config import ProviderSettings
from proxy_core.runner import RunningGateway
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import only_log, stored_logs

KEY = "sk-test-reference-key"
CHAT = [{"role": "user", "content": "What is Cloudflare?"}]


def real_layout(upstream: Upstream) -> dict[str, ProviderSettings]:
    """Every provider under test pointed at the mock, keeping the path part of its real base URL."""
    bases = {
        "openai": "/v1", "anthropic": "", "grok": "", "openrouter": "/api", "groq": "/openai/v1", "mistral": "",
        "cohere": "", "perplexity-ai": "", "deepseek": "", "google-ai-studio": "",
    }  # fmt: skip
    return {name: ProviderSettings(base_url=upstream.url + path) for name, path in bases.items()}


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, upstream: Upstream) -> RunningGateway:
    return await gateway_factory(providers=real_layout(upstream))


def openai_sdk(gateway: RunningGateway, provider: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=KEY, base_url=f"{gateway.gateway_url}/{provider}", max_retries=0)


def anthropic_sdk(gateway: RunningGateway, provider: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=KEY, base_url=f"{gateway.gateway_url}/{provider}", max_retries=0)


async def post(url: str, body: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers=headers) as resp:
            return resp.status, dict(resp.headers), orjson.loads(await resp.read())


# -- SDK clients with the reference's base URLs ---------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "upstream_path"),
    [
        ("openai", "/v1/chat/completions"),  # baseURL …/openai
        ("grok", "/v1/chat/completions"),  # baseURL …/grok; upstream https://api.x.ai/v1/chat/completions
        ("openrouter", "/api/v1/chat/completions"),  # baseURL …/openrouter; https://openrouter.ai/api/v1/…
        ("deepseek", "/chat/completions"),  # baseURL …/deepseek; DeepSeek serves /chat/completions
        ("perplexity-ai", "/chat/completions"),  # baseURL …/perplexity-ai; https://api.perplexity.ai/chat/completions
        ("perplexity", "/chat/completions"),  # the alias
        ("mistral", "/v1/chat/completions"),  # an OpenAI SDK at …/mistral (Mistral's own SDK sends /v1/…)
    ],
)
async def test_openai_sdk_at_the_provider_segment(
    gateway: RunningGateway, upstream: Upstream, provider: str, upstream_path: str
) -> None:
    raw = await openai_sdk(gateway, provider).chat.completions.with_raw_response.create(model="m-1", messages=CHAT)
    assert raw.status_code == 200
    assert upstream.requests[-1]["path"] == upstream_path
    assert upstream.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"
    log = await only_log(gateway)
    assert log["provider"] == provider and log["success"]


@pytest.mark.parametrize("provider", ["anthropic", "grok"])  # both pages show the Anthropic SDK at …/{provider}
async def test_anthropic_sdk_at_the_provider_segment(gateway: RunningGateway, upstream: Upstream, provider: str) -> None:
    message = await anthropic_sdk(gateway, provider).messages.create(model="claude-3-5-haiku-latest", max_tokens=32,
                                                                     messages=CHAT)  # fmt: skip
    assert message.content[0].text
    assert upstream.requests[-1]["path"] == "/v1/messages"
    log = await only_log(gateway)
    assert log["path"] == "/v1/messages" and log["tokens_out"] == message.usage.output_tokens


async def test_vercel_ai_sdk_anthropic_posts_messages_below_the_provider_segment(
    gateway: RunningGateway, upstream: Upstream
) -> None:
    """``createAnthropic({baseURL: "…/anthropic"})`` posts ``…/anthropic/messages`` (its default base ends in /v1)."""
    status, _, body = await post(
        f"{gateway.gateway_url}/anthropic/messages",
        {"model": "claude-3-5-haiku-latest", "max_tokens": 32, "messages": CHAT},
        **{"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    )
    assert status == 200 and body["type"] == "message"
    assert upstream.requests[-1]["path"] == "/v1/messages"
    log = await only_log(gateway)
    assert log["path"] == "/v1/messages" and log["model"] == "claude-3-5-haiku-latest" and log["cost"] is not None


# -- the same upstream path from every documented form --------------------------------------------


@pytest.mark.parametrize(
    ("provider", "client_path", "upstream_path"),
    [
        ("anthropic", "/v1/messages", "/v1/messages"),  # curl, Anthropic SDK
        ("anthropic", "/messages", "/v1/messages"),  # Vercel AI SDK
        ("grok", "/v1/chat/completions", "/v1/chat/completions"),  # curl
        ("grok", "/chat/completions", "/v1/chat/completions"),  # OpenAI SDK
        ("openrouter", "/v1/chat/completions", "/api/v1/chat/completions"),  # curl
        ("openrouter", "/chat/completions", "/api/v1/chat/completions"),  # OpenAI SDK
        ("groq", "/chat/completions", "/openai/v1/chat/completions"),  # curl
        ("groq", "/openai/v1/chat/completions", "/openai/v1/chat/completions"),  # groq-sdk at baseURL …/groq
        ("cohere", "/v1/chat", "/v1/chat"),  # curl
        ("cohere", "/v1/v1/chat", "/v1/chat"),  # cohere-python at base_url …/cohere/v1
        ("cohere", "/v1/v2/chat", "/v2/chat"),  # its v2 client, same base_url
        ("cohere", "/chat", "/v1/chat"),  # "replace https://api.cohere.ai/v1 with …/cohere"
        ("mistral", "/v1/chat/completions", "/v1/chat/completions"),  # curl, @mistralai/mistralai
    ],
)
async def test_documented_paths_reach_the_real_upstream_path(
    gateway: RunningGateway, upstream: Upstream, provider: str, client_path: str, upstream_path: str
) -> None:
    status, _, _ = await post(f"{gateway.gateway_url}/{provider}{client_path}", {"model": "m-1", "messages": CHAT})
    assert status == 200
    assert upstream.requests[-1]["path"] == upstream_path


# -- the universal endpoint -------------------------------------------------------------------------


async def test_universal_config_error_names_the_step_config_key(gateway: RunningGateway, upstream: Upstream) -> None:
    step = {"provider": "openai", "endpoint": "chat/completions", "config": {"requestTimeout": -5},
            "query": {"model": "gpt-4o-mini", "messages": CHAT}}  # fmt: skip
    status, _, body = await post(gateway.gateway_url, [step])
    assert status == 400
    message = body["error"][0]["message"]
    assert message.startswith("steps[0].config.requestTimeout: "), message
    assert "cf-aig" not in message
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("config", "named"),
    [({"maxAttempts": 9}, "steps[1].config.maxAttempts"), ({"retryDelay": "soon"}, "steps[1].config.retryDelay"),
     ({"backoff": "fibonacci"}, "steps[1].config.backoff"), ({"timeout": 5}, "steps[1].config: unknown key 'timeout'")],
)  # fmt: skip
async def test_universal_config_errors_name_the_step_and_key(
    gateway: RunningGateway, config: dict[str, Any], named: str
) -> None:
    ok = {"provider": "openai", "endpoint": "chat/completions", "query": {"model": "gpt-4o-mini", "messages": CHAT}}
    status, _, body = await post(gateway.gateway_url, [ok, {**ok, "config": config}])
    assert status == 400 and body["error"][0]["message"].startswith(named)
    assert "cf-aig" not in body["error"][0]["message"]
    assert [log["status_code"] for log in await stored_logs(gateway)] == [400]
