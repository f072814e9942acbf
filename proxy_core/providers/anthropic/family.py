"""Anthropic's Messages API (JSON and its ``message_start`` / ``message_delta`` stream)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.providers.anthropic import texts
from proxy_core.providers.anthropic.compat import AnthropicTranslator
from proxy_core.providers.base import JsonApiDefaults, ModelType, Usage, int_or_none, model_type_from_path

__all__ = ["AnthropicFamily"]


def _input_tokens(usage_obj: dict) -> int | None:
    base = int_or_none(usage_obj.get("input_tokens"))
    if base is None:
        return None
    cached = (int_or_none(usage_obj.get("cache_creation_input_tokens")) or 0) + (
        int_or_none(usage_obj.get("cache_read_input_tokens")) or 0
    )
    return base + cached


class AnthropicFamily(JsonApiDefaults):
    id = "anthropic"

    def model_type(self, path: str) -> str:
        if "messages" in path or "complete" in path:
            return ModelType.TEXT
        return model_type_from_path(path)

    def parse_response(self, body: Any, usage: Usage) -> None:
        if not isinstance(body, dict):
            return
        if isinstance(body.get("model"), str):
            usage.model = body["model"]
        usage_obj = body.get("usage")
        if isinstance(usage_obj, dict):
            usage.update(_input_tokens(usage_obj), int_or_none(usage_obj.get("output_tokens")))

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start":
            self.parse_response(event.get("message"), usage)
        elif kind == "message_delta":
            usage_obj = event.get("usage")
            if isinstance(usage_obj, dict):
                tokens_out = int_or_none(usage_obj.get("output_tokens"))
                if tokens_out is not None:
                    usage.tokens_out = tokens_out
                tokens_in = _input_tokens(usage_obj)
                if tokens_in is not None and usage.tokens_in is None:
                    usage.tokens_in = tokens_in

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        return isinstance(event, dict) and event.get("type") == "message_stop"

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> AnthropicTranslator:
        return AnthropicTranslator()
