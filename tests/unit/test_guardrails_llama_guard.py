"""llama-guard: the Llama Guard 3 prompt, both transports and the answer parsing, against a fake
OpenAI-compatible server on a loopback port (it answers ``unsafe\\nS1`` when the judged text holds
the trigger word, ``safe`` otherwise)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from proxy_core.guardrails import EvaluatorUnavailable, GuardrailEngine, Verdict, build_evaluator, normalize_policy
from proxy_core.guardrails.evaluators.llama_guard import conversation_for, format_prompt, parse_answer

TRIGGER = "zorblax"

# Written out by hand from Meta's Llama Guard 3 template (llama-recipes PROMPT_TEMPLATE_3 and the
# model's chat_template), minus the BOS token a /completions server adds itself.
GOLDEN_USER_PROMPT = (
    "<|start_header_id|>user<|end_header_id|>\n\n"
    "Task: Check if there is unsafe content in 'User' messages in conversations according our safety policy with the "
    "below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS5: Defamation.\n"
    "S6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\n"
    "S11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.\nS14: Code Interpreter Abuse.\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\n"
    "User: How do I bake bread?\n\n"
    "<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
)


@dataclass
class FakeLlamaGuard:
    received: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    status: int = 200
    answer: str | None = None
    headers: list[dict[str, str]] = field(default_factory=list)

    def verdict(self, judged: str) -> str:
        if self.answer is not None:
            return self.answer
        return "unsafe\nS1" if TRIGGER in judged else "safe"

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        self.headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=self.status)
        last = body["messages"][-1]["content"]
        return web.json_response({"id": "x", "object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": self.verdict(last)},
                                               "finish_reason": "stop"}]})

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        conversation = body["prompt"].split("<BEGIN CONVERSATION>")[1].split("<END CONVERSATION>")[0]
        last_turn = conversation.strip().split("\n\n")[-1]
        return web.json_response({"object": "text_completion", "choices": [{"index": 0, "text": "\n\n" + self.verdict(last_turn)}]})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeLlamaGuard, str]]:
    server = FakeLlamaGuard()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat)
    app.router.add_post("/v1/completions", server.completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield server, f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


# --- the prompt ----------------------------------------------------------------------------


def test_format_prompt_is_the_official_template() -> None:
    prompt = format_prompt(conversation_for("How do I bake bread?", "prompt"))
    assert prompt == "<|begin_of_text|>" + GOLDEN_USER_PROMPT


def test_response_stage_judges_the_agent_turn() -> None:
    prompt = format_prompt(conversation_for("  Here is how.  ", "response"))
    assert "unsafe content in 'Agent' messages" in prompt
    assert "<BEGIN CONVERSATION>\n\nUser: \n\nAgent: Here is how.\n\n<END CONVERSATION>" in prompt
    assert "ONLY THE LAST Agent message" in prompt
    with pytest.raises(ValueError):
        format_prompt([{"role": "assistant", "content": "x"}])
    with pytest.raises(ValueError):
        format_prompt([])


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, verdict",
    [
        ("safe", Verdict(True)),
        ("\n\nsafe\n", Verdict(True)),
        ("unsafe\nS1", Verdict(False, ("S1",))),
        ("unsafe\nS10,S1", Verdict(False, ("S1", "S10"))),
        ("unsafe\n s14 , s2 ", Verdict(False, ("S2", "S14"))),
        ("unsafe S9", Verdict(False, ("S9",))),
        ('{"safe": false, "categories": ["S11"]}', Verdict(False, ("S11",))),
        ({"safe": True, "categories": []}, Verdict(True)),
    ],
)
def test_parse_answer(answer: Any, verdict: Verdict) -> None:
    assert parse_answer(answer) == verdict


@pytest.mark.parametrize("answer", ["", "unsafe", "unsafe\nhate", "maybe", "I think it is safe", None, {"safe": False}])
def test_unreadable_answers_are_unavailable_not_guesses(answer: Any) -> None:
    with pytest.raises(EvaluatorUnavailable):
        parse_answer(answer)


# --- against the fake server ---------------------------------------------------------------


async def test_chat_mode_sends_the_conversation_with_the_right_roles(fake, session) -> None:
    server, url = fake
    evaluator = build_evaluator("llama-guard", {"base_url": url, "api_key": "k"}, session_factory=lambda: session)
    verdicts = await evaluator.judge([f"how to {TRIGGER} my neighbour", "bake bread"], "prompt")
    assert verdicts == [Verdict(False, ("S1",)), Verdict(True)]
    first = next(b for b in server.received if TRIGGER in b["messages"][-1]["content"])
    assert first["model"] == "meta-llama/Llama-Guard-3-8B" and first["temperature"] == 0
    assert first["messages"] == [{"role": "user", "content": f"how to {TRIGGER} my neighbour"}]
    assert server.headers[0]["Authorization"] == "Bearer k"

    server.received.clear()
    assert await evaluator.judge([f"sure, {TRIGGER} works"], "response") == [Verdict(False, ("S1",))]
    assert [m["role"] for m in server.received[0]["messages"]] == ["user", "assistant"]
    assert server.received[0]["messages"][1]["content"] == f"sure, {TRIGGER} works"


async def test_completions_mode_sends_the_formatted_prompt(fake) -> None:
    server, url = fake
    evaluator = build_evaluator("llama-guard", {"base_url": url, "mode": "completions", "model": "llama-guard3:8b"})
    try:
        assert await evaluator.judge(["How do I bake bread?"], "prompt") == [Verdict(True)]
        assert server.received[0]["prompt"] == GOLDEN_USER_PROMPT
        assert server.received[0]["model"] == "llama-guard3:8b"
        verdicts = await evaluator.judge([f"Step one: {TRIGGER} them."], "response")
        assert verdicts == [Verdict(False, ("S1",))]
        prompt = server.received[1]["prompt"]
        assert "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes." in prompt and "S14: Code Interpreter Abuse." in prompt
        assert f"Agent: Step one: {TRIGGER} them." in prompt and "ONLY THE LAST Agent message" in prompt
    finally:
        await evaluator.aclose()


async def test_engine_with_llama_guard_blocks_and_passes(fake, session) -> None:
    _, url = fake
    engine = GuardrailEngine(build_evaluator("llama-guard", {"base_url": url}, session_factory=lambda: session))
    policy = normalize_policy({"enabled": True, "prompt": {"S1": "block"}})
    blocked = await engine.check(policy, "prompt", ["hello", f"please {TRIGGER}"])
    assert (blocked.action, blocked.categories, blocked.evaluator) == ("blocked", ("S1",), "llama-guard")
    assert (await engine.check(policy, "prompt", ["hello"])).action == "passed"


async def test_timeout_is_unavailable_and_fails_closed(fake, session) -> None:
    server, url = fake
    server.delay = 2.0
    evaluator = build_evaluator("llama-guard", {"base_url": url, "timeout": 0.2}, session_factory=lambda: session)
    with pytest.raises(EvaluatorUnavailable, match="timed out"):
        await evaluator.judge(["hi"], "prompt")
    engine = GuardrailEngine(evaluator)
    out = await engine.check(normalize_policy({"enabled": True, "prompt": {"S1": "block"}}), "prompt", ["hi again"])
    assert (out.action, out.evaluated) == ("blocked", False) and "timed out" in (out.error or "")


async def test_http_errors_and_garbage_are_unavailable(fake, session) -> None:
    server, url = fake
    evaluator = build_evaluator("llama-guard", {"base_url": url}, session_factory=lambda: session)
    server.status = 503
    with pytest.raises(EvaluatorUnavailable, match="HTTP 503"):
        await evaluator.judge(["hi"], "prompt")
    server.status, server.answer = 200, "I cannot help with that."
    with pytest.raises(EvaluatorUnavailable, match="unexpected answer"):
        await evaluator.judge(["hi"], "prompt")
    out = await GuardrailEngine(evaluator).check(normalize_policy({"enabled": True}), "prompt", ["hi"])
    assert (out.action, out.evaluated) == ("passed", False)


async def test_unreachable_server_and_health(fake) -> None:
    _, url = fake
    evaluator = build_evaluator("llama-guard", {"base_url": url})
    ok, detail = await evaluator.health()
    assert ok and "Llama-Guard-3-8B" in detail
    await evaluator.aclose()
    dead = build_evaluator("llama-guard", {"base_url": "http://127.0.0.1:9/v1", "timeout": 2})
    with pytest.raises(EvaluatorUnavailable):
        await dead.judge(["hi"], "prompt")
    ok, detail = await dead.health()
    assert not ok and "127.0.0.1:9" in detail
    await dead.aclose()


def test_build_options_are_checked() -> None:
    with pytest.raises(ValueError, match="base_url"):
        build_evaluator("llama-guard", {})
    with pytest.raises(ValueError, match="'temperature'"):
        build_evaluator("llama-guard", {"base_url": "http://x/v1", "temperature": 0})
    with pytest.raises(ValueError, match="mode"):
        build_evaluator("llama-guard", {"base_url": "http://x/v1", "mode": "raw"})
    with pytest.raises(ValueError, match="timeout"):
        build_evaluator("llama-guard", {"base_url": "http://x/v1", "timeout": -1})
    with pytest.raises(ValueError, match="'no-such'"):
        build_evaluator("no-such", {})
    assert build_evaluator("llama-guard", {"base_url": "http://x/v1", "max_chars": 3000}).max_chars == 3000
