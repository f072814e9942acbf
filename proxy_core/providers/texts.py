"""Readers the families share to find the texts guardrails judge in a body or a stream.

A family's ``texts`` module knows where its API puts text (messages, parts, candidates, deltas);
these helpers know the shapes several APIs have in common: a ``content`` that is a string or a list
of parts, a list of messages, strings at any depth under given keys, and a stream's pieces gathered
per choice or block.
"""

from __future__ import annotations

from typing import Any

__all__ = ["StreamText", "content_texts", "message_texts", "strings", "walk"]

_TEXT_PART_TYPES = {"text", "input_text", "output_text", "text_delta"}
_MAX_DEPTH = 12


def content_texts(content: Any, depth: int = 0) -> list[str]:
    """Text from a message ``content``: a string, or a list of parts/blocks (OpenAI ``text`` /
    ``input_text`` / ``output_text`` parts, Anthropic ``text`` and ``tool_result`` blocks, Bedrock
    ``{"text"}`` and ``toolResult`` blocks, Cohere v2 ``text`` parts)."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            kind = part.get("type")
            if kind in _TEXT_PART_TYPES or (kind is None and isinstance(part.get("text"), str)):
                out.append(part.get("text"))
            elif kind == "tool_result":
                out.extend(content_texts(part.get("content"), depth + 1))
            elif kind == "function_call_output" and isinstance(part.get("output"), str):
                out.append(part["output"])
            elif isinstance(part.get("toolResult"), dict):
                out.extend(content_texts(part["toolResult"].get("content"), depth + 1))
            elif kind is None and "content" in part:
                out.extend(content_texts(part["content"], depth + 1))
    return out


def message_texts(messages: Any, key: str = "content") -> list[str]:
    """The texts of a list of messages, each read from its ``key`` (a bare string is its own text)."""
    out: list[str] = []
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                out.extend(content_texts(message.get(key)))
            elif isinstance(message, str):
                out.append(message)
    return out


def strings(value: Any) -> list[str]:
    """A string, or the strings of a list (token arrays and other items skipped)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def walk(value: Any, keys: set[str], depth: int = 0, under: bool = False) -> list[str]:
    """Every string under one of ``keys``, at any depth (for bodies no family reader knows)."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(value, str):
        return [value] if under else []
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(walk(v, keys, depth + 1, k in keys))
    elif isinstance(value, list):
        for v in value:
            out.extend(walk(v, keys, depth + 1, under))
    return out


class StreamText:
    """Text pieces of one streamed response gathered per slot (choice index, content block,
    candidate …), in order, so that each choice is judged as one text."""

    def __init__(self) -> None:
        self.slots: dict[Any, list[str]] = {}
        self.pieces = 0
        """How many pieces were added: a reader that added none did not know the event's shape."""

    def add(self, slot: Any, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self.slots.setdefault(slot, []).append(piece)
            self.pieces += 1

    def texts(self) -> list[str]:
        return [t for t in ("".join(parts) for parts in self.slots.values()) if t.strip()]
