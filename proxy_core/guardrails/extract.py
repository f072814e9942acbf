"""The texts to judge in a request, a decoded JSON response or a stream, read by the provider's family.

Each family knows where its API puts text (``proxy_core/providers/<family>/texts.py``); this module
decodes what the proxy captured and falls back to the generic reading when the family finds
nothing in a body it does not recognise. One string per message (or content part), not one
joined string: a conversation's earlier turns then hash the same on every request and the
engine's cache answers them. Non-text content (images, audio, token arrays, tool-call arguments)
is not judged.
"""

from __future__ import annotations

from typing import Any, Iterable

import orjson

from proxy_core.providers.base import ProviderFamily
from proxy_core.providers.generic import texts as generic_texts
from proxy_core.providers.texts import StreamText

__all__ = ["extract_prompt_texts", "extract_response_texts", "extract_stream_texts"]


def _keep(texts: Iterable[Any]) -> list[str]:
    return [t for t in texts if isinstance(t, str) and t.strip()]


def extract_prompt_texts(family: ProviderFamily, path: str, body: Any) -> list[str]:
    """The texts of a request body (decoded JSON, or its bytes) to judge as the prompt."""
    if isinstance(body, (bytes, bytearray)):
        body = _loads(body)
    if isinstance(body, str):
        return _keep([body])
    texts = family.prompt_texts(body) if isinstance(body, dict) else []
    return _keep(texts) or _keep(generic_texts.prompt_texts(body))


def extract_response_texts(family: ProviderFamily, path: str, body: Any) -> list[str]:
    """The texts of a decoded JSON response to judge as the response (embeddings give none)."""
    if isinstance(body, (bytes, bytearray)):
        body = _loads(body)
    if isinstance(body, str):
        return _keep([body])
    texts = family.response_texts(body) if isinstance(body, dict) else []
    return _keep(texts) or _keep(generic_texts.response_texts(body))


def extract_stream_texts(family: ProviderFamily, events: Iterable[Any]) -> list[str]:
    """The assembled text of a streamed response, one string per choice / candidate / content block.

    Events may be dicts or raw JSON strings; ``[DONE]`` and anything unreadable are skipped.
    """
    out = StreamText()
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
            family.read_stream_event(event, out)
    return out.texts()


def _loads(raw: bytes | bytearray) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")
