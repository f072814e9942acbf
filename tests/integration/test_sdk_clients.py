"""The official OpenAI and Anthropic SDKs, pointed at the proxy, against the mock upstream."""

from __future__ import annotations

import anthropic
import openai
import pytest

from proxy_core.runner import RunningGateway
from tests.integration.helpers import only_log, stored_body, stored_logs

OPENAI_KEY = "sk-test-OPENAI-secret-1234567890"
ANTHROPIC_KEY = "sk-ant-test-ANTHROPIC-secret-0987654321"


def openai_client(gateway: RunningGateway, **kwargs) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=f"{gateway.gateway_url}/openai", max_retries=0, **kwargs)


def anthropic_client(gateway: RunningGateway) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=ANTHROPIC_KEY, base_url=f"{gateway.gateway_url}/anthropic", max_retries=0)


async def test_openai_chat_completion_is_logged_with_tokens_and_cost(gateway: RunningGateway) -> None:
    client = openai_client(gateway)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "say hello to the gateway"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    log_id = raw.headers["cf-aig-log-id"]
    assert len(log_id) == 26
    assert raw.headers["cf-aig-cache-status"] == "MISS"

    log = await only_log(gateway)
    assert log["id"] == log_id
    assert log["provider"] == "openai"
    assert log["model"] == "gpt-4o-mini"
    assert log["model_type"] == "text-generation"
    assert log["path"] == "/chat/completions"
    assert log["status_code"] == 200 and log["success"]
    assert log["tokens_in"] == completion.usage.prompt_tokens
    assert log["tokens_out"] == completion.usage.completion_tokens
    # gpt-4o-mini: $0.15 in / $0.60 out per million tokens in the shipped table
    expected = (completion.usage.prompt_tokens * 0.15 + completion.usage.completion_tokens * 0.60) / 1e6
    assert log["cost"] == pytest.approx(expected)
    assert not log["custom_cost"]
    body = await stored_body(gateway, log_id)
    assert body is not None
    assert b"say hello to the gateway" in body["request_body"]
    assert body["request_headers"]["authorization"] == "[REDACTED]"


async def test_openai_stream_with_include_usage(gateway: RunningGateway) -> None:
    client = openai_client(gateway)
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream me something"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text and usage is not None
    log = await only_log(gateway)
    assert log["streamed"]
    assert log["tokens_in"] == usage.prompt_tokens
    assert log["tokens_out"] == usage.completion_tokens
    assert log["cost"] == pytest.approx((usage.prompt_tokens * 2.5 + usage.completion_tokens * 10.0) / 1e6)


async def test_openai_embeddings_model_type(gateway: RunningGateway) -> None:
    client = openai_client(gateway)
    result = await client.embeddings.create(model="text-embedding-3-small", input=["one two three"])
    assert len(result.data) == 1
    log = await only_log(gateway)
    assert log["model_type"] == "embeddings"
    assert log["tokens_in"] == 3 and log["tokens_out"] == 0


async def test_openai_upstream_error_passes_through_and_is_logged_as_failure(gateway: RunningGateway) -> None:
    client = openai_client(gateway, default_headers={"x-mock-status": "503"})
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 503
    assert "mock error 503" in str(caught.value)
    log = await only_log(gateway)
    assert log["status_code"] == 503 and not log["success"]
    assert log["cost"] is None


async def test_anthropic_messages(gateway: RunningGateway) -> None:
    client = anthropic_client(gateway)
    message = await client.messages.create(
        model="claude-3-5-haiku-latest", max_tokens=64, messages=[{"role": "user", "content": "hello claude"}]
    )
    assert message.content[0].text
    log = await only_log(gateway)
    assert log["provider"] == "anthropic" and log["path"] == "/v1/messages"
    assert log["model"] == "claude-3-5-haiku-latest"
    assert log["tokens_in"] == message.usage.input_tokens
    assert log["tokens_out"] == message.usage.output_tokens
    assert log["cost"] == pytest.approx((message.usage.input_tokens * 0.8 + message.usage.output_tokens * 4.0) / 1e6)


async def test_anthropic_stream_usage_from_message_start_and_delta(gateway: RunningGateway) -> None:
    client = anthropic_client(gateway)
    async with client.messages.stream(
        model="claude-haiku-4-5-20251001", max_tokens=64, messages=[{"role": "user", "content": "stream please"}]
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text
    log = await only_log(gateway)
    assert log["streamed"]
    assert log["tokens_in"] == final.usage.input_tokens
    assert log["tokens_out"] == final.usage.output_tokens
    assert log["cost"] == pytest.approx((final.usage.input_tokens * 1 + final.usage.output_tokens * 5) / 1e6)


async def test_secrets_never_reach_the_database_file(gateway: RunningGateway) -> None:
    await openai_client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "secret test"}]
    )
    await anthropic_client(gateway).messages.create(
        model="claude-3-5-haiku-latest", max_tokens=16, messages=[{"role": "user", "content": "secret test"}]
    )
    assert len(await stored_logs(gateway)) == 2
    await gateway.store.engine.dispose()  # checkpoint nothing pending; read the files as they are
    data_dir = gateway.settings.data_dir
    blobs = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("aigw.db"))
    assert b"OPENAI-secret" not in blobs
    assert b"ANTHROPIC-secret" not in blobs
    assert b"secret test" in blobs  # the bodies themselves were stored
