"""A streamed response's text, assembled from its decoded events (one text per choice/candidate/block).

Each family streams text differently: OpenAI ``choices[].delta.content`` (and the Responses API's
``response.output_text.delta``), Anthropic ``content_block_delta`` / ``text_delta``, Google one
``GenerateContentResponse`` per event, Cohere v1 ``text-generation`` and v2 ``content-delta``,
Workers AI ``{"response": "piece"}``, Bedrock ``contentBlockDelta``. Events may be dicts or raw
JSON strings; ``[DONE]`` and anything unreadable are skipped.
"""

from __future__ import annotations

from typing import Any, Iterable

import orjson

__all__ = ["extract_stream_texts"]


class _Assembler:
    """Text pieces gathered per stream slot (choice index, content block, candidate …), in order."""

    def __init__(self) -> None:
        self.slots: dict[Any, list[str]] = {}
        self.pieces = 0

    def add(self, slot: Any, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self.slots.setdefault(slot, []).append(piece)
            self.pieces += 1

    def texts(self) -> list[str]:
        return [t for t in ("".join(parts) for parts in self.slots.values()) if t.strip()]


def _openai(event: dict, out: _Assembler) -> None:
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


def _anthropic(event: dict, out: _Assembler) -> None:
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


def _google(event: dict, out: _Assembler) -> None:
    for i, candidate in enumerate(event.get("candidates") or []):
        if isinstance(candidate, dict) and isinstance(candidate.get("content"), dict):
            for part in candidate["content"].get("parts") or []:
                if isinstance(part, dict):
                    out.add(("candidate", candidate.get("index", i)), part.get("text"))


def _cohere(event: dict, out: _Assembler) -> None:
    if event.get("event_type") == "text-generation":  # v1
        out.add("text", event.get("text"))
    elif event.get("type") == "content-delta":  # v2
        delta = event.get("delta")
        message = delta.get("message") if isinstance(delta, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, dict):
            out.add(("content", event.get("index", 0)), content.get("text"))


def _workers_ai(event: dict, out: _Assembler) -> None:
    if "choices" in event:
        _openai(event, out)
    else:
        out.add("response", event.get("response"))


def _bedrock(event: dict, out: _Assembler) -> None:
    inner = event.get("contentBlockDelta", event)
    if isinstance(inner, dict) and isinstance(inner.get("delta"), dict) and "text" in inner["delta"]:
        out.add(("block", inner.get("contentBlockIndex", 0)), inner["delta"].get("text"))
        return
    if event.get("type") in ("content_block_start", "content_block_delta"):  # Anthropic models via invoke
        _anthropic(event, out)
        return
    out.add("generation", event.get("generation"))  # Meta Llama
    out.add("generation", event.get("outputText"))  # Amazon Titan
    out.add("generation", event.get("completion"))
    for item in event.get("outputs") or []:  # Mistral
        if isinstance(item, dict):
            out.add("generation", item.get("text"))


def _generic(event: dict, out: _Assembler) -> None:
    before = out.pieces
    for reader in (_openai, _anthropic, _google, _cohere):
        reader(event, out)
    if out.pieces == before:  # none of the known shapes: a flat field holds the piece
        for key in ("response", "text", "token", "generated_text", "delta"):
            out.add(key, event.get(key))


_READERS = {
    "openai": _openai,
    "anthropic": _anthropic,
    "google": _google,
    "cohere": _cohere,
    "workers-ai": _workers_ai,
    "bedrock": _bedrock,
}


def extract_stream_texts(family_id: str, events: Iterable[Any]) -> list[str]:
    """The assembled text of a streamed response, one string per choice / candidate / content block."""
    reader = _READERS.get(family_id, _generic)
    out = _Assembler()
    for event in events:
        if isinstance(event, (bytes, bytearray, str)):
            raw = event.strip()
            if not raw or raw in ("[DONE]", b"[DONE]"):
                continue
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
        if isinstance(event, dict):
            reader(event, out)
    return out.texts()
