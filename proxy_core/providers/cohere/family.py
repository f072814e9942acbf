"""Cohere's v1 and v2 APIs (usage under ``meta.billed_units`` or ``usage.billed_units``)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.providers.base import JsonApiDefaults, Usage, int_or_none
from proxy_core.providers.cohere import texts
from proxy_core.providers.cohere.compat import CohereTranslator

__all__ = ["CohereFamily"]


def _read_billed(container: Any, usage: Usage) -> None:
    if not isinstance(container, dict):
        return
    billed = container.get("billed_units")
    if not isinstance(billed, dict):
        return
    tokens_in = int_or_none(billed.get("input_tokens"))
    tokens_out = int_or_none(billed.get("output_tokens"))
    if tokens_in is not None:
        usage.tokens_in = tokens_in
    if tokens_out is not None:
        usage.tokens_out = tokens_out
    elif tokens_in is not None and usage.tokens_out is None:
        usage.tokens_out = 0


class CohereFamily(JsonApiDefaults):
    id = "cohere"

    def parse_response(self, body: Any, usage: Usage) -> None:
        if not isinstance(body, dict):
            return
        _read_billed(body.get("meta"), usage)
        _read_billed(body.get("usage"), usage)

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        if not isinstance(event, dict):
            return
        if event.get("event_type") == "stream-end":  # v1 NDJSON stream
            self.parse_response(event.get("response"), usage)
        elif event.get("type") == "message-end":  # v2 SSE stream
            delta = event.get("delta")
            if isinstance(delta, dict):
                _read_billed(delta.get("usage"), usage)

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        # v1 NDJSON ends with a "stream-end" event, v2 SSE with "message-end"
        if not isinstance(event, dict):
            return False
        return event.get("event_type") == "stream-end" or event.get("type") == "message-end"

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> CohereTranslator:
        return CohereTranslator()
