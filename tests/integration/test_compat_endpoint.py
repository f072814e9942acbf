"""The OpenAI-compatible endpoint: the official openai SDK talks to every provider family."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from proxy_core.runner import RunningGateway
from tests.conftest import Upstream
from tests.integration.helpers import stored_logs


def compat(gateway: RunningGateway, key: str = "sk-client-key") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=f"{gateway.gateway_url}/compat", max_retries=0)


@pytest.mark.parametrize(
    ("model", "provider", "native_path"),
    [
        ("openai/gpt-4o-mini", "openai", "/v1/chat/completions"),
        ("anthropic/claude-3-5-haiku-latest", "anthropic", "/v1/messages"),
        ("google-ai-studio/gemini-2.0-flash", "google-ai-studio", "/v1beta/models/gemini-2.0-flash:generateContent"),
    ],
)
async def test_chat_completion_from_each_family(
    gateway: RunningGateway, upstream: Upstream, model: str, provider: str, native_path: str
) -> None:
    answer = await compat(gateway).chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello compat"}],
        max_tokens=50,
    )
    assert answer.object == "chat.completion" and answer.choices[0].message.content
    assert answer.choices[0].finish_reason == "stop" and answer.usage.prompt_tokens > 0
    sent = upstream.requests[-1]
    assert sent["path"] == native_path
    if provider == "anthropic":
        assert sent["headers"]["x-api-key"] == "sk-client-key" and "Authorization" not in sent["headers"]
    [log] = await stored_logs(gateway)
    assert log["provider"] == provider and log["request_type"] == "compat"
    assert log["tokens_in"] == answer.usage.prompt_tokens and log["cost"] is not None


@pytest.mark.parametrize(
    "model", ["anthropic/claude-3-5-haiku-latest", "google-ai-studio/gemini-2.0-flash", "openai/gpt-4o-mini"]
)
async def test_streamed_answers_are_read_by_the_sdk(gateway: RunningGateway, model: str) -> None:
    stream = await compat(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "stream it"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    text, usage, finish = "", None, None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text and finish == "stop" and usage is not None and usage.completion_tokens > 0
    [log] = await stored_logs(gateway)
    assert log["streamed"] and log["tokens_out"] == usage.completion_tokens


async def test_provider_errors_become_openai_errors(gateway: RunningGateway) -> None:
    client = openai.AsyncOpenAI(
        api_key="k", base_url=f"{gateway.gateway_url}/compat", max_retries=0, default_headers={"x-mock-status": "429"}
    )
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(
            model="anthropic/claude-3-5-haiku-latest", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["message"]


@pytest.mark.parametrize(
    ("model", "status"), [("gpt-4o-mini", 400), ("nope/model", 404), ("replicate/some-model", 400)]
)
async def test_bad_models_are_clear_errors(gateway: RunningGateway, model: str, status: int) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await compat(gateway).chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status


# -- the universal endpoint with provider "compat" (the reference's OpenAI-compatibility page) ---


def compat_step(model: str, **headers: str) -> dict:
    return {"provider": "compat", "endpoint": "chat/completions",
            "headers": {"authorization": "Bearer sk-client-key", **headers},
            "query": {"model": model, "messages": [{"role": "user", "content": "What is Cloudflare?"}]}}  # fmt: skip


async def post_universal(gateway: RunningGateway, body: object) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(gateway.gateway_url, json=body) as resp:
            return resp.status, dict(resp.headers), await resp.json()


async def test_universal_compat_step_is_translated_like_the_compat_endpoint(
    gateway: RunningGateway, upstream: Upstream
) -> None:
    status, headers, answer = await post_universal(gateway, compat_step("anthropic/claude-3-5-haiku-latest"))
    assert status == 200 and headers["cf-aig-step"] == "0"
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"]
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == "sk-client-key" and "Authorization" not in sent["headers"]
    [log] = await stored_logs(gateway)
    assert log["provider"] == "anthropic" and log["request_type"] == "universal" and log["step"] == 0
    assert log["tokens_in"] == answer["usage"]["prompt_tokens"]


async def test_universal_compat_then_fallback(gateway: RunningGateway, upstream: Upstream) -> None:
    steps = [
        compat_step("anthropic/claude-3-5-haiku-latest", **{"x-mock-status": "503"}),
        compat_step("google-ai-studio/gemini-2.0-flash"),
        {"provider": "openai", "endpoint": "chat/completions", "headers": {"authorization": "Bearer k"},
         "query": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}},
    ]  # fmt: skip
    status, headers, answer = await post_universal(gateway, steps)
    assert status == 200 and headers["cf-aig-step"] == "1"
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"]
    assert [r["path"] for r in upstream.requests] == [
        "/v1/messages", "/v1beta/models/gemini-2.0-flash:generateContent"
    ]  # fmt: skip
    logs = await stored_logs(gateway)
    assert [(log["step"], log["provider"], log["status_code"]) for log in logs] == [
        (0, "anthropic", 503), (1, "google-ai-studio", 200)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "status", "code"),
    [
        ({**compat_step("openai/gpt-4o-mini"), "endpoint": "embeddings"}, 404, 2015),
        (compat_step("nope/model"), 404, 2003),
        (compat_step("gpt-4o-mini"), 400, 2001),
    ],
)
async def test_universal_compat_step_errors(
    gateway: RunningGateway, upstream: Upstream, step: dict, status: int, code: int
) -> None:
    got, _, body = await post_universal(gateway, [step])
    assert got == status and body["error"][0]["code"] == code
    assert body["error"][0]["message"].startswith("steps[0]: ")
    assert upstream.requests == []
