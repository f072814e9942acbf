"""The answer a log holds, as text to read side by side: each provider family reads its own API's
response (and stream) with the same readers the guardrails use (:mod:`proxy_core.guardrails.extract`)."""

from __future__ import annotations

from proxy_core.guardrails.extract import extract_response_texts, extract_stream_texts
from proxy_core.providers.base import ProviderFamily

__all__ = ["answer_text"]


def _stream_events(body: bytes) -> list[bytes]:
    """The payloads of a stored stream: SSE ``data:`` lines, or the lines of an NDJSON stream."""
    lines = [line.strip() for line in body.splitlines()]
    data = [line[5:] for line in lines if line.startswith(b"data:")]
    return data if data else [line for line in lines if line.startswith(b"{")]


def answer_text(family: ProviderFamily, body: bytes | None, *, streamed: bool) -> str | None:
    """The response text of a stored body (choices, blocks or candidates joined by blank lines);
    ``None`` when there is no body or the family finds no text in it (an error, an embedding)."""
    if not body:
        return None
    texts = extract_stream_texts(family, _stream_events(body)) if streamed else extract_response_texts(family, "", body)
    return "\n\n".join(texts) if texts else None
