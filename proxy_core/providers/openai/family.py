"""OpenAI's API and every OpenAI-compatible provider (Groq, Mistral, DeepSeek, Grok, …)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.providers.base import JsonApiDefaults, STREAM_DONE, Usage, int_or_none
from proxy_core.providers.openai import texts
from proxy_core.providers.openai.compat import ChatRoute, OpenAITranslator

__all__ = ["OpenAIFamily"]


# Streams that end with a typed event rather than ``data: [DONE]`` (the Responses API, audio).
_LAST_EVENTS = frozenset({
    "response.completed", "response.failed", "response.incomplete", "speech.audio.done", "transcript.text.done",
})  # fmt: skip


def _read_usage(usage_obj: Any, usage: Usage) -> None:
    if not isinstance(usage_obj, dict):
        return
    tokens_in = int_or_none(usage_obj.get("prompt_tokens", usage_obj.get("input_tokens")))
    tokens_out = int_or_none(usage_obj.get("completion_tokens", usage_obj.get("output_tokens")))
    if tokens_in is not None:
        usage.tokens_in = tokens_in
    if tokens_out is not None:
        usage.tokens_out = tokens_out
    elif tokens_in is not None and usage.tokens_out is None:
        usage.tokens_out = 0  # embeddings: prompt tokens only


class OpenAIFamily(JsonApiDefaults):
    """OpenAI-format APIs; ``chat`` is where this provider's chat endpoint is and how it takes the key."""

    id = "openai"

    def __init__(self, chat: ChatRoute = ChatRoute()) -> None:
        self.chat = chat

    def parse_response(self, body: Any, usage: Usage) -> None:
        if not isinstance(body, dict):
            return
        if isinstance(body.get("model"), str):
            usage.model = body["model"]
        _read_usage(body.get("usage"), usage)

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        if not isinstance(event, dict):
            return
        # Responses API streams wrap the final object in {"type": "response.completed", "response": …}.
        inner = event.get("response")
        if isinstance(inner, dict):
            self.parse_response(inner, usage)
            return
        self.parse_response(event, usage)

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        if event is STREAM_DONE:
            return True
        # Ollama's native NDJSON (served through this family by some setups) ends with "done": true.
        return isinstance(event, dict) and (event.get("type") in _LAST_EVENTS or event.get("done") is True)

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> OpenAITranslator:
        return OpenAITranslator(self.chat)
