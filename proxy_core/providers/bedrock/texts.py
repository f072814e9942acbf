"""What guardrails judge in Bedrock traffic: Converse's ``system`` / ``messages`` / ``output``,
and each model's own invoke body (Anthropic, Meta Llama, Amazon Titan, Mistral, Cohere), streamed
or not."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.anthropic import texts as anthropic_texts
from proxy_core.providers.texts import StreamText, content_texts, message_texts, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def prompt_texts(body: dict) -> list[str]:
    out = content_texts(body.get("system")) + message_texts(body.get("messages"))
    out += strings(body.get("prompt")) + strings(body.get("inputText")) + strings(body.get("texts"))
    out += strings(body.get("message")) + message_texts(body.get("chat_history"), key="message")
    return out


def response_texts(body: dict) -> list[str]:
    out: list[str] = []
    output = body.get("output")
    if isinstance(output, dict) and isinstance(output.get("message"), dict):  # Converse
        out += content_texts(output["message"].get("content"))
    out += content_texts(body.get("content")) + strings(body.get("generation")) + strings(body.get("completion"))
    for key, field in (("outputs", "text"), ("results", "outputText"), ("generations", "text")):
        for item in body.get(key) or []:
            if isinstance(item, dict):
                out += strings(item.get(field))
    return out


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    """One event of :func:`proxy_core.providers.bedrock.eventstream.iter_events`."""
    inner = event.get("contentBlockDelta", event)
    if isinstance(inner, dict) and isinstance(inner.get("delta"), dict) and "text" in inner["delta"]:
        out.add(("block", inner.get("contentBlockIndex", 0)), inner["delta"].get("text"))
        return
    if event.get("type") in ("content_block_start", "content_block_delta"):  # Anthropic models via invoke
        anthropic_texts.read_stream_event(event, out)
        return
    out.add("generation", event.get("generation"))  # Meta Llama
    out.add("generation", event.get("outputText"))  # Amazon Titan
    out.add("generation", event.get("completion"))
    for item in event.get("outputs") or []:  # Mistral
        if isinstance(item, dict):
            out.add("generation", item.get("text"))
