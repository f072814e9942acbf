"""What guardrails judge in Gemini's API: ``systemInstruction`` and ``contents`` parts,
``batchEmbedContents`` requests, candidates' parts (one ``GenerateContentResponse`` per stream event)."""

from __future__ import annotations

from typing import Any

from proxy_core.providers.texts import StreamText, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def _parts(content: Any) -> list[str]:
    if isinstance(content, dict):
        return [p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    if isinstance(content, list):
        return [t for c in content for t in _parts(c)]
    return strings(content)


def prompt_texts(body: dict) -> list[str]:
    out = _parts(body.get("systemInstruction") or body.get("system_instruction"))
    out += _parts(body.get("contents")) + _parts(body.get("content"))
    for request in body.get("requests") or []:  # batchEmbedContents
        if isinstance(request, dict):
            out += _parts(request.get("content"))
    return out


def response_texts(body: dict) -> list[str]:
    out: list[str] = []
    for candidate in body.get("candidates") or []:
        if isinstance(candidate, dict):
            out += _parts(candidate.get("content"))
    return out


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    for i, candidate in enumerate(event.get("candidates") or []):
        if isinstance(candidate, dict) and isinstance(candidate.get("content"), dict):
            for part in candidate["content"].get("parts") or []:
                if isinstance(part, dict):
                    out.add(("candidate", candidate.get("index", i)), part.get("text"))
