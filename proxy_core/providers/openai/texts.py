"""What guardrails judge in OpenAI-format traffic: chat messages, legacy ``prompt``, embeddings
``input``, the Responses API's ``instructions`` / ``input`` / ``output``, and their streams."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.texts import StreamText, content_texts, message_texts, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def prompt_texts(body: dict) -> list[str]:
    out = strings(body.get("instructions")) + message_texts(body.get("messages")) + strings(body.get("prompt"))
    items = body.get("input")
    if isinstance(items, (str, list)):
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                out.extend(content_texts(item.get("content")) if "content" in item else content_texts([item]))
    return out


def response_texts(body: dict) -> list[str]:
    out: list[str] = []
    for choice in body.get("choices") or []:
        if isinstance(choice, dict):
            message = choice.get("message")
            if isinstance(message, dict):
                out += content_texts(message.get("content"))
            out += strings(choice.get("text"))
    for item in body.get("output") or []:  # Responses API
        if isinstance(item, dict) and item.get("type", "message") == "message":
            out += content_texts(item.get("content"))
    return out


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    """``choices[].delta.content`` per choice, and the Responses API's ``response.output_text.delta``."""
    for i, choice in enumerate(event.get("choices") or []):
        if not isinstance(choice, dict):
            continue
        slot = ("choice", choice.get("index", i))
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, list):  # content parts in a delta (some compatible servers)
                for part in content:
                    if isinstance(part, dict):
                        out.add(slot, part.get("text"))
            else:
                out.add(slot, content)
        out.add(slot, choice.get("text"))  # legacy completions
    if event.get("type") == "response.output_text.delta":  # Responses API
        out.add(("output", event.get("output_index", 0), event.get("content_index", 0)), event.get("delta"))
