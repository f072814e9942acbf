"""What guardrails judge in an API no family knows: strings under the usual field names at any
depth, and streams in any known shape or with the piece in a flat field. Every family's reader
falls back to these when it finds nothing."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.anthropic import texts as anthropic_texts
from proxy_core.providers.cohere import texts as cohere_texts
from proxy_core.providers.google import texts as google_texts
from proxy_core.providers.openai import texts as openai_texts
from proxy_core.providers.texts import StreamText, walk

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]

_PROMPT_KEYS = {"prompt", "input", "inputs", "text", "texts", "messages", "content", "system", "instructions", "query"}
_RESPONSE_KEYS = {
    "text", "content", "response", "output", "output_text", "generated_text", "completion", "generation", "answer", "result",
    "message", "outputText",
}
_KNOWN_STREAMS = (
    openai_texts.read_stream_event, anthropic_texts.read_stream_event, google_texts.read_stream_event,
    cohere_texts.read_stream_event,
)  # fmt: skip


def prompt_texts(body: Any) -> list[str]:
    return walk(body, _PROMPT_KEYS)


def response_texts(body: Any) -> list[str]:
    return walk(body, _RESPONSE_KEYS)


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    before = out.pieces
    for reader in _KNOWN_STREAMS:
        reader(event, out)
    if out.pieces == before:  # none of the known shapes: a flat field holds the piece
        for key in ("response", "text", "token", "generated_text", "delta"):
            out.add(key, event.get(key))
