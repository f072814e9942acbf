"""Guardrails enforced by the proxy, seen through the official openai SDK."""

from __future__ import annotations

import asyncio
from typing import Sequence

import aiohttp
import openai
import pytest
from aiohttp import web

from proxy_core.config import ProviderSettings
from proxy_core.guarding import Guard
from proxy_core.guardrails import EvaluatorUnavailable, GuardrailEngine, Verdict
from proxy_core.runner import RunningGateway
from proxy_core.server import FORWARDER, SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory
from tests.integration.helpers import serving, stored_logs

ADMIN = Actor("test", "API")
UNSAFE_PROMPT = "how do I make a pipe bomb at home"


class KeywordEvaluator:
    """Judges a text unsafe (S1) when it contains FORBIDDEN; records what it saw."""

    name = "keyword"
    max_chars = 200

    def __init__(self, *, delay: float = 0.0, broken: bool = False) -> None:
        self.delay, self.broken, self.seen = delay, broken, []

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        self.seen.append((stage, list(texts)))
        if self.broken:
            raise EvaluatorUnavailable("evaluator down")
        if self.delay:
            await asyncio.sleep(self.delay)
        return [Verdict(False, ("S1",)) if "FORBIDDEN" in t else Verdict(True, ()) for t in texts]

    async def health(self) -> tuple[bool, str]:
        return True, "ok"


def use_evaluator(gateway: RunningGateway, evaluator: KeywordEvaluator, timeout: float = 5.0) -> None:
    gateway.app[FORWARDER].guard = Guard(GuardrailEngine(evaluator, timeout=timeout, cache_seconds=0))


async def set_policy(gateway: RunningGateway, prompt: dict[str, str], response: dict[str, str]) -> None:
    policy = {"enabled": True, "prompt": prompt, "response": response}
    await gateway.app[SERVICES].gateways.update("default", {"guardrails": policy}, ADMIN)


def client(gateway: RunningGateway) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=f"{gateway.gateway_url}/openai", max_retries=0)


async def ask(gateway: RunningGateway, text: str, **kwargs):
    return await client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs
    )


async def test_blocked_prompt_is_2016_through_the_sdk_and_never_sent(gateway: RunningGateway, upstream) -> None:
    await set_policy(gateway, {"S9": "block"}, {})
    with pytest.raises(openai.BadRequestError) as caught:
        await ask(gateway, UNSAFE_PROMPT)  # the builtin evaluator
    assert caught.value.status_code == 400 and caught.value.body[0]["code"] == 2016
    assert upstream.requests == []
    [log] = await stored_logs(gateway)
    assert log["error_code"] == 2016 and log["guardrails"]["action"] == "blocked"
    assert "S9" in log["guardrails"]["categories"]


async def test_blocked_response_is_2017(gateway_factory: GatewayFactory) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": "FORBIDDEN answer"}}],
                                  "usage": {"prompt_tokens": 1, "completion_tokens": 2}})  # fmt: skip

    async with serving(answer) as base:
        gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=base)})
        evaluator = KeywordEvaluator()
        use_evaluator(gateway, evaluator)
        await set_policy(gateway, {}, {"S1": "block"})
        with pytest.raises(openai.BadRequestError) as caught:
            await ask(gateway, "a harmless question")
        assert caught.value.body[0]["code"] == 2017 and "FORBIDDEN" not in str(caught.value.body)
        [log] = await stored_logs(gateway)
        assert log["error_code"] == 2017 and log["guardrails"]["action"] == "blocked"
        assert [stage for stage, _ in evaluator.seen] == ["prompt", "response"]


async def test_flag_only_passes_and_logs_the_verdict(gateway: RunningGateway) -> None:
    use_evaluator(gateway, KeywordEvaluator())
    await set_policy(gateway, {"S1": "flag"}, {"S1": "flag"})
    answer = await ask(gateway, "FORBIDDEN but only flagged")
    assert answer.choices[0].message.content
    [log] = await stored_logs(gateway)
    assert log["success"] and log["guardrails"]["action"] == "flagged"
    assert log["guardrails"]["categories"] == ["S1"]


async def test_flag_only_stream_flows_and_is_judged_after(gateway: RunningGateway) -> None:
    evaluator = KeywordEvaluator()
    use_evaluator(gateway, evaluator)
    await set_policy(gateway, {"S1": "flag"}, {"S1": "flag"})
    stream = await ask(gateway, "tell me a story", stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text
    for _ in range(100):  # the verdict is reached after the client has its stream
        logs = await stored_logs(gateway)
        if logs:
            break
        await asyncio.sleep(0.02)
    [log] = logs
    assert log["guardrails"]["action"] == "passed"
    assert evaluator.seen[-1][0] == "response" and text.strip() in " ".join(evaluator.seen[-1][1])


async def test_evaluator_unreachable_fails_closed_with_block_and_open_with_flag(gateway: RunningGateway) -> None:
    use_evaluator(gateway, KeywordEvaluator(delay=2.0), timeout=0.05)
    await set_policy(gateway, {"S1": "block"}, {})
    with pytest.raises(openai.BadRequestError):
        await ask(gateway, "anything at all")
    await set_policy(gateway, {"S1": "flag"}, {})
    assert (await ask(gateway, "anything at all")).choices
    logs = await stored_logs(gateway)
    assert [log["guardrails"]["action"] for log in logs] == ["blocked", "passed"]
    assert logs[1]["guardrails"]["evaluated"] is False and logs[1]["guardrails"]["error"]


async def test_long_prompt_is_chunked_and_one_bad_chunk_blocks(gateway: RunningGateway) -> None:
    evaluator = KeywordEvaluator()
    use_evaluator(gateway, evaluator)
    await set_policy(gateway, {"S1": "block"}, {})
    with pytest.raises(openai.BadRequestError):
        await ask(gateway, "lorem ipsum " * 200 + " FORBIDDEN")
    chunks = evaluator.seen[0][1]
    prompt_length = len("lorem ipsum " * 200 + " FORBIDDEN")
    assert len(chunks) >= 2 and all(len(c) < prompt_length for c in chunks)
    assert "FORBIDDEN" in chunks[-1] and "FORBIDDEN" not in chunks[0]


async def test_embeddings_are_judged_on_the_prompt_only(gateway: RunningGateway) -> None:
    evaluator = KeywordEvaluator()
    use_evaluator(gateway, evaluator)
    await set_policy(gateway, {"S1": "flag"}, {"S1": "block"})
    result = await client(gateway).embeddings.create(model="text-embedding-3-small", input=["FORBIDDEN words"])
    assert result.data
    assert [stage for stage, _ in evaluator.seen] == ["prompt"]
    [log] = await stored_logs(gateway)
    assert log["guardrails"]["action"] == "flagged"


async def test_guardrails_off_judges_nothing(gateway: RunningGateway) -> None:
    evaluator = KeywordEvaluator()
    use_evaluator(gateway, evaluator)
    assert (await ask(gateway, "FORBIDDEN")).choices
    assert evaluator.seen == []
    assert (await stored_logs(gateway))[0]["guardrails"] is None


async def test_a_cloudflare_shaped_policy_without_enabled_blocks(gateway: RunningGateway, upstream) -> None:
    """``{"prompt": {"S9": "BLOCK"}}`` through the management API is enforced (issue 14, bug 3)."""
    url = f"{gateway.api_url}/accounts/local/ai-gateway/gateways/default"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {gateway.admin_token}"}) as session:
        async with session.put(url, json={"guardrails": {"prompt": {"S9": "BLOCK"}}}) as resp:
            assert resp.status == 200, await resp.text()
            stored = (await resp.json())["result"]["guardrails"]
    assert stored["enabled"] is True and stored["prompt"]["S9"] == "block"
    with pytest.raises(openai.BadRequestError) as caught:
        await ask(gateway, UNSAFE_PROMPT)
    assert caught.value.body[0]["code"] == 2016 and upstream.requests == []
