"""What guardrails judge in Cohere's v1 and v2 APIs: preamble, chat history, message(s), embed
and rerank inputs; v1 ``text`` / ``generations``, v2 ``message.content``; both stream shapes."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.texts import StreamText, content_texts, message_texts, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def prompt_texts(body: dict) -> list[str]:
    out = strings(body.get("preamble")) + message_texts(body.get("chat_history"), key="message")
    out += strings(body.get("message")) + message_texts(body.get("messages")) + strings(body.get("prompt"))
    out += strings(body.get("texts")) + strings(body.get("query"))
    for item in body.get("inputs") or []:  # v2 embed
        if isinstance(item, dict):
            out += content_texts(item.get("content"))
    return out


def response_texts(body: dict) -> list[str]:
    out = strings(body.get("text"))
    for generation in body.get("generations") or []:
        if isinstance(generation, dict):
            out += strings(generation.get("text"))
    message = body.get("message")
    if isinstance(message, dict):
        out += content_texts(message.get("content"))
    return out


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    if event.get("event_type") == "text-generation":  # v1
        out.add("text", event.get("text"))
    elif event.get("type") == "content-delta":  # v2
        delta = event.get("delta")
        message = delta.get("message") if isinstance(delta, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, dict):
            out.add(("content", event.get("index", 0)), content.get("text"))
