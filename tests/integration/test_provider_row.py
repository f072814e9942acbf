"""A new OpenAI-compatible provider is one registry row: passthrough, its path rewrites, its alias,
its chat route for the compat endpoint and its realtime path all come from that row alone."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from proxy_core.providers import registry
from proxy_core.providers.openai import ChatRoute, OpenAIFamily
from proxy_core.providers.registry import ProviderSpec
from proxy_core.runner import RunningGateway
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import stored_logs

CHAT = {"model": "acme-large", "messages": [{"role": "user", "content": "hello acme"}]}


@pytest.fixture
async def acme(monkeypatch: pytest.MonkeyPatch, upstream: Upstream, gateway_factory: GatewayFactory) -> RunningGateway:
    """A gateway whose registry has one more row: ``acme``, serving the mock's OpenAI API under ``/v1``."""
    row = ProviderSpec(
        "acme",
        upstream.url,
        OpenAIFamily(ChatRoute("/v1/chat/completions")),
        path_rewrites=(("/v1", "/v1"), ("", "/v1")),
        realtime_path="/v1/realtime",
        aliases=("acme-ai",),
    )
    monkeypatch.setattr(registry, "BUILTIN_PROVIDERS", (*registry.BUILTIN_PROVIDERS, row))
    return await gateway_factory()


@pytest.mark.parametrize(("name", "path"), [("acme", "/chat/completions"), ("acme", "/v1/chat/completions"),
                                            ("acme-ai", "/chat/completions")])  # fmt: skip
async def test_passthrough_reaches_the_rows_upstream_path(
    acme: RunningGateway, upstream: Upstream, name: str, path: str
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{acme.gateway_url}/{name}{path}", json=CHAT,
                                headers={"authorization": "Bearer sk-acme"}) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
            answer = await resp.json()
    assert upstream.requests[-1]["path"] == "/v1/chat/completions"
    assert upstream.requests[-1]["headers"]["Authorization"] == "Bearer sk-acme"
    [log] = await stored_logs(acme)
    assert (log["provider"], log["model"], log["model_type"]) == (name, "acme-large", "text-generation")
    assert log["tokens_in"] == answer["usage"]["prompt_tokens"] and log["success"]


async def test_compat_endpoint_uses_the_rows_chat_route(acme: RunningGateway, upstream: Upstream) -> None:
    client = openai.AsyncOpenAI(api_key="sk-acme", base_url=f"{acme.gateway_url}/compat", max_retries=0)
    answer = await client.chat.completions.create(model="acme/acme-large", messages=CHAT["messages"])
    assert answer.object == "chat.completion" and answer.choices[0].message.content
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["headers"]["Authorization"] == "Bearer sk-acme"
    [log] = await stored_logs(acme)
    assert (log["provider"], log["request_type"], log["tokens_out"]) == ("acme", "compat", answer.usage.completion_tokens)


async def test_realtime_reaches_the_rows_realtime_path(acme: RunningGateway) -> None:
    url = acme.gateway_url.replace("http://", "ws://") + "/acme?model=acme-live"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, headers={"Authorization": "Bearer sk-acme"}) as ws:
            hello = await ws.receive_json(timeout=10)
    assert hello["type"] == "session.created" and hello["session"]["model"] == "acme-live"
    assert hello["request"]["path"] == "/v1/realtime"
