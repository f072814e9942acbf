"""What guardrails judge in Anthropic's Messages API: ``system``, messages and content blocks
(``tool_result`` included), legacy ``prompt`` / ``completion``, and the ``text_delta`` stream."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.texts import StreamText, content_texts, message_texts, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def prompt_texts(body: dict) -> list[str]:
    return content_texts(body.get("system")) + message_texts(body.get("messages")) + strings(body.get("prompt"))


def response_texts(body: dict) -> list[str]:
    return content_texts(body.get("content")) + strings(body.get("completion"))


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    """Text blocks, one slot per ``index`` (also what Anthropic models on Bedrock stream)."""
    kind = event.get("type")
    if kind == "content_block_start" and isinstance(event.get("content_block"), dict):
        block = event["content_block"]
        if block.get("type") == "text":
            out.add(("block", event.get("index", 0)), block.get("text"))
    elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
        delta = event["delta"]
        if delta.get("type") == "text_delta":
            out.add(("block", event.get("index", 0)), delta.get("text"))
    elif "completion" in event:  # legacy text completions
        out.add("completion", event.get("completion"))
