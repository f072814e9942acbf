"""What guardrails judge in Workers AI traffic: the native ``/run`` inputs (``prompt``,
``messages``, ``text``) and ``result.response``, plus its OpenAI-compatible routes."""

from __future__ import annotations

from typing import Any

import orjson

from proxy_core.providers.openai import texts as openai_texts
from proxy_core.providers.texts import StreamText, message_texts, strings

__all__ = ["prompt_texts", "response_texts", "read_stream_event"]


def prompt_texts(body: dict) -> list[str]:
    return strings(body.get("prompt")) + message_texts(body.get("messages")) + strings(body.get("text")) + (
        openai_texts.prompt_texts({"instructions": body.get("instructions"), "input": body.get("input")})
    )


def response_texts(body: dict) -> list[str]:
    result = body.get("result") if isinstance(body.get("result"), dict) else body
    response = result.get("response")
    if isinstance(response, (dict, list)):  # a JSON-mode answer is judged as its JSON text
        return [orjson.dumps(response).decode()]
    return strings(response) + openai_texts.response_texts(body)


def read_stream_event(event: dict[str, Any], out: StreamText) -> None:
    """``{"response": piece}`` from ``/run``, OpenAI chunks from ``/v1/chat/completions``."""
    if "choices" in event:
        openai_texts.read_stream_event(event, out)
    else:
        out.add("response", event.get("response"))
