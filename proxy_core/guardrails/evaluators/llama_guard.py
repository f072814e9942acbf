"""``llama-guard``: Llama Guard 3 served by any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Workers AI).

**How the prompt reaches the model.** Llama Guard 3 is a classifier prompted with one fixed
template: a task line naming the role judged (``User`` for a prompt, ``Agent`` for a response),
the S1–S14 category list, the conversation, and the instruction to answer ``safe`` or
``unsafe`` plus the violated categories (Meta's ``llama-recipes`` ``PROMPT_TEMPLATE_3`` and the
``chat_template`` shipped in ``meta-llama/Llama-Guard-3-8B``'s ``tokenizer_config.json``;
:func:`format_prompt` renders it). Two ways to send it:

``mode = "chat"`` (default): ``POST {base_url}/chat/completions`` with the conversation as plain
    messages (``user``, then ``assistant`` for a response). The server's chat template for Llama
    Guard renders the official prompt from them: vLLM uses the model's own HF template, Ollama's
    ``llama-guard3`` Modelfile template does the same, Workers AI takes ``messages`` for
    ``@cf/meta/llama-guard-3-8b``, and llama.cpp does with ``--jinja`` (the GGUF's template). Sending
    our formatted prompt *as a chat message* instead would be wrapped a second time by that
    template and the model would judge the instructions themselves, so chat mode never does that.
``mode = "completions"``: ``POST {base_url}/completions`` with ``prompt`` = :func:`format_prompt`
    text, for servers whose chat template does not know Llama Guard (llama.cpp without ``--jinja``
    falls back to a generic Llama 3 template) and that take a raw prompt on ``/completions``
    (vLLM, llama.cpp). The leading ``<|begin_of_text|>`` is left off because these servers add the
    BOS token themselves. With Ollama use ``chat``: its Modelfile template is what builds the prompt.

A response is judged as the ``Agent`` turn after an empty ``User`` turn: the engine judges texts one
by one, so the prompt that led to the response is not passed (Meta recommends it as context).

The answer is parsed strictly: ``safe``, or ``unsafe`` with S-codes on the next line(s) (a JSON
``{"safe": …, "categories": […]}`` body, as Workers AI can return, is read too). Anything else,
like ``unsafe`` with no readable category, is :class:`EvaluatorUnavailable`, never a guess.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Mapping, Sequence

import orjson

from proxy_core.guardrails.categories import CATEGORIES
from proxy_core.guardrails.evaluators.base import (
    EvaluatorUnavailable,
    HttpClient,
    SessionFactory,
    check_options,
    positive_number,
)
from proxy_core.guardrails.outcome import Verdict

__all__ = ["LlamaGuardEvaluator", "build", "format_prompt", "parse_answer", "conversation_for"]

DEFAULT_MODEL = "meta-llama/Llama-Guard-3-8B"

_CATEGORY_BLOCK = "\n".join(f"{c.code}: {c.template_title}." for c in CATEGORIES.values())
_ROLE = {"user": "User", "assistant": "Agent"}
_CODE = re.compile(r"\bS(1[0-4]|[1-9])\b", re.IGNORECASE)


def conversation_for(text: str, stage: str) -> list[dict[str, str]]:
    """The chat messages that make Llama Guard judge ``text`` as a prompt or as a response."""
    if stage == "response":
        return [{"role": "user", "content": ""}, {"role": "assistant", "content": text}]
    return [{"role": "user", "content": text}]


def format_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """The Llama Guard 3 prompt for a conversation that alternates user/assistant, judging its last turn."""
    if not messages:
        raise ValueError("format_prompt: empty conversation")
    for i, message in enumerate(messages):
        if (message["role"] == "user") != (i % 2 == 0):
            raise ValueError("format_prompt: roles must alternate user/assistant, starting with user")
    role = _ROLE[messages[-1]["role"]]
    turns = "".join(f"{_ROLE[m['role']]}: {m['content'].strip()}\n\n" for m in messages)
    return (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"Task: Check if there is unsafe content in '{role}' messages in conversations according our safety policy "
        "with the below categories.\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{_CATEGORY_BLOCK}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{turns}<END CONVERSATION>\n\n"
        f"Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated categories."
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
    )


def parse_answer(answer: Any) -> Verdict:
    """A verdict from Llama Guard's answer text; :class:`EvaluatorUnavailable` if it is not one."""
    if isinstance(answer, Mapping):
        return _parse_json(answer)
    if not isinstance(answer, str):
        raise EvaluatorUnavailable("llama-guard: the answer has no text")
    text = answer.strip()
    if text.startswith("{"):
        try:
            return _parse_json(orjson.loads(text))
        except orjson.JSONDecodeError:
            pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise EvaluatorUnavailable("llama-guard: empty answer")
    head = lines[0].lower()
    if head == "safe":
        return Verdict(True)
    if head.startswith("unsafe"):
        codes = _CODE.findall(" ".join([lines[0][6:], *lines[1:]]))
        if codes:
            return Verdict.of(f"S{c}" for c in codes)
        raise EvaluatorUnavailable("llama-guard: 'unsafe' without a category")
    raise EvaluatorUnavailable(f"llama-guard: unexpected answer {text[:60]!r}")


def _parse_json(obj: Mapping[str, Any]) -> Verdict:
    safe = obj.get("safe")
    if safe is True:
        return Verdict(True)
    codes = [str(c).upper() for c in obj.get("categories") or [] if isinstance(c, str)]
    if safe is False and codes:
        return Verdict.of(codes)
    raise EvaluatorUnavailable("llama-guard: unreadable JSON answer")


class LlamaGuardEvaluator:
    """Judges each text with one request to the endpoint (``concurrency`` at a time)."""

    name = "llama-guard"

    def __init__(self, client: HttpClient, model: str, mode: str, max_chars: int, concurrency: int, max_tokens: int):
        self.client = client
        self.model = model
        self.mode = mode
        self.max_chars = max_chars
        self._limit = asyncio.Semaphore(concurrency)
        self.max_tokens = max_tokens

    async def _judge_one(self, text: str, stage: str) -> Verdict:
        messages = conversation_for(text, stage)
        async with self._limit:
            if self.mode == "chat":
                payload = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens}
                body = await self.client.request("POST", "/chat/completions", payload)
                answer = _first_choice(body, "message")
            else:
                prompt = format_prompt(messages).removeprefix("<|begin_of_text|>")
                payload = {"model": self.model, "prompt": prompt, "temperature": 0, "max_tokens": self.max_tokens}
                body = await self.client.request("POST", "/completions", payload)
                answer = _first_choice(body, "text")
        return parse_answer(answer)

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        return list(await asyncio.gather(*(self._judge_one(t, stage) for t in texts)))

    async def health(self) -> tuple[bool, str]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self._judge_one("Hello", "prompt")
        except EvaluatorUnavailable as exc:
            return False, f"{self.model} at {self.client.base_url}: {exc}"
        return True, f"{self.model} at {self.client.base_url} ({self.mode}): answered in {(loop.time() - started) * 1000:.0f} ms"

    async def aclose(self) -> None:
        await self.client.aclose()


def _first_choice(body: Any, key: str) -> Any:
    """``choices[0].message.content`` (chat) or ``choices[0].text`` (completions); Workers AI's
    native ``result.response`` is accepted too."""
    if isinstance(body, dict):
        choices = body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            if key == "message":
                message = choices[0].get("message")
                return message.get("content") if isinstance(message, dict) else None
            return choices[0].get("text")
        result = body.get("result")
        if isinstance(result, dict) and "response" in result:
            return result["response"]
    raise EvaluatorUnavailable("llama-guard: the answer is not an OpenAI-compatible completion")


OPTIONS = {"base_url", "model", "api_key", "timeout", "mode", "max_chars", "concurrency", "max_tokens"}


def build(options: Mapping[str, Any], session_factory: SessionFactory | None = None) -> LlamaGuardEvaluator:
    """Options: ``base_url`` (required, e.g. ``http://127.0.0.1:8000/v1``), ``model``
    (default ``meta-llama/Llama-Guard-3-8B``; Ollama: ``llama-guard3:8b``), ``api_key``, ``timeout``
    (seconds, default 10), ``mode`` (``chat`` or ``completions``), ``max_chars`` (chunk size,
    default 6000), ``concurrency`` (parallel requests, default 4), ``max_tokens`` (default 32)."""
    check_options("llama-guard", options, OPTIONS, {"base_url"})
    mode = options.get("mode", "chat")
    if mode not in ("chat", "completions"):
        raise ValueError("guardrails evaluator 'llama-guard': option 'mode' must be 'chat' or 'completions'")
    headers = {"authorization": f"Bearer {options['api_key']}"} if options.get("api_key") else {}
    timeout = positive_number("llama-guard", "timeout", options.get("timeout", 10))
    client = HttpClient(str(options["base_url"]), headers, timeout, session_factory)
    return LlamaGuardEvaluator(
        client,
        model=str(options.get("model") or DEFAULT_MODEL),
        mode=mode,
        max_chars=int(positive_number("llama-guard", "max_chars", options.get("max_chars", 6000))),
        concurrency=int(positive_number("llama-guard", "concurrency", options.get("concurrency", 4))),
        max_tokens=int(positive_number("llama-guard", "max_tokens", options.get("max_tokens", 32))),
    )
