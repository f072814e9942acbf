"""The texts to judge, read from a request or a decoded JSON response of each API family.

One string per message (or content part), not one joined string: a conversation's earlier turns
then hash the same on every request and the engine's cache answers them. Non-text content
(images, audio, token arrays, tool-call arguments) is not judged. A body the family does not
recognise falls back to the ``generic`` reading.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import orjson

__all__ = ["extract_prompt_texts", "extract_response_texts", "content_texts", "FAMILY_IDS"]

FAMILY_IDS = ("openai", "anthropic", "google", "cohere", "workers-ai", "bedrock", "generic")

_TEXT_PART_TYPES = {"text", "input_text", "output_text", "text_delta"}
_GENERIC_PROMPT_KEYS = {"prompt", "input", "inputs", "text", "texts", "messages", "content", "system", "instructions", "query"}
_GENERIC_RESPONSE_KEYS = {
    "text", "content", "response", "output", "output_text", "generated_text", "completion", "generation", "answer", "result",
    "message", "outputText",
}
_MAX_DEPTH = 12


def _keep(texts: Iterable[Any]) -> list[str]:
    return [t for t in texts if isinstance(t, str) and t.strip()]


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


def _messages(messages: Any, key: str = "content") -> list[str]:
    out: list[str] = []
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                out.extend(content_texts(message.get(key)))
            elif isinstance(message, str):
                out.append(message)
    return out


def _strings(value: Any) -> list[str]:
    """A string, or the strings of a list (token arrays and other items skipped)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _walk(value: Any, keys: set[str], depth: int = 0, under: bool = False) -> list[str]:
    """Every string under one of ``keys``, at any depth (the generic reading)."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(value, str):
        return [value] if under else []
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_walk(v, keys, depth + 1, k in keys))
    elif isinstance(value, list):
        for v in value:
            out.extend(_walk(v, keys, depth + 1, under))
    return out


# --- prompts -------------------------------------------------------------------------------


def _openai_prompt(body: dict) -> list[str]:
    out = _strings(body.get("instructions")) + _messages(body.get("messages")) + _strings(body.get("prompt"))
    items = body.get("input")
    if isinstance(items, (str, list)):
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                out.extend(content_texts(item.get("content")) if "content" in item else content_texts([item]))
    return out


def _anthropic_prompt(body: dict) -> list[str]:
    return content_texts(body.get("system")) + _messages(body.get("messages")) + _strings(body.get("prompt"))


def _google_parts(content: Any) -> list[str]:
    if isinstance(content, dict):
        return [p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    if isinstance(content, list):
        return [t for c in content for t in _google_parts(c)]
    return _strings(content)


def _google_prompt(body: dict) -> list[str]:
    out = _google_parts(body.get("systemInstruction") or body.get("system_instruction"))
    out += _google_parts(body.get("contents")) + _google_parts(body.get("content"))
    for request in body.get("requests") or []:  # batchEmbedContents
        if isinstance(request, dict):
            out += _google_parts(request.get("content"))
    return out


def _cohere_prompt(body: dict) -> list[str]:
    out = _strings(body.get("preamble")) + _messages(body.get("chat_history"), key="message")
    out += _strings(body.get("message")) + _messages(body.get("messages")) + _strings(body.get("prompt"))
    out += _strings(body.get("texts")) + _strings(body.get("query"))
    for item in body.get("inputs") or []:  # v2 embed
        if isinstance(item, dict):
            out += content_texts(item.get("content"))
    return out


def _workers_ai_prompt(body: dict) -> list[str]:
    return _strings(body.get("prompt")) + _messages(body.get("messages")) + _strings(body.get("text")) + _openai_prompt(
        {"instructions": body.get("instructions"), "input": body.get("input")}
    )


def _bedrock_prompt(body: dict) -> list[str]:
    out = content_texts(body.get("system")) + _messages(body.get("messages"))
    out += _strings(body.get("prompt")) + _strings(body.get("inputText")) + _strings(body.get("texts"))
    out += _strings(body.get("message")) + _messages(body.get("chat_history"), key="message")
    return out


def _generic_prompt(body: Any) -> list[str]:
    return _walk(body, _GENERIC_PROMPT_KEYS)


_PROMPT: dict[str, Callable[[dict], list[str]]] = {
    "openai": _openai_prompt,
    "anthropic": _anthropic_prompt,
    "google": _google_prompt,
    "cohere": _cohere_prompt,
    "workers-ai": _workers_ai_prompt,
    "bedrock": _bedrock_prompt,
}


def extract_prompt_texts(family_id: str, path: str, body: Any) -> list[str]:
    """The texts of a request body (decoded JSON) to judge as the prompt."""
    if isinstance(body, (bytes, bytearray)):
        body = _loads(body)
    if isinstance(body, str):
        return _keep([body])
    reader = _PROMPT.get(family_id)
    texts = reader(body) if reader is not None and isinstance(body, dict) else []
    return _keep(texts) or _keep(_generic_prompt(body))


# --- responses -----------------------------------------------------------------------------


def _openai_response(body: dict) -> list[str]:
    out: list[str] = []
    for choice in body.get("choices") or []:
        if isinstance(choice, dict):
            message = choice.get("message")
            if isinstance(message, dict):
                out += content_texts(message.get("content"))
            out += _strings(choice.get("text"))
    for item in body.get("output") or []:  # Responses API
        if isinstance(item, dict) and item.get("type", "message") == "message":
            out += content_texts(item.get("content"))
    return out


def _anthropic_response(body: dict) -> list[str]:
    return content_texts(body.get("content")) + _strings(body.get("completion"))


def _google_response(body: dict) -> list[str]:
    out: list[str] = []
    for candidate in body.get("candidates") or []:
        if isinstance(candidate, dict):
            out += _google_parts(candidate.get("content"))
    return out


def _cohere_response(body: dict) -> list[str]:
    out = _strings(body.get("text"))
    for generation in body.get("generations") or []:
        if isinstance(generation, dict):
            out += _strings(generation.get("text"))
    message = body.get("message")
    if isinstance(message, dict):
        out += content_texts(message.get("content"))
    return out


def _workers_ai_response(body: dict) -> list[str]:
    result = body.get("result") if isinstance(body.get("result"), dict) else body
    response = result.get("response")
    if isinstance(response, (dict, list)):
        return [orjson.dumps(response).decode()]
    return _strings(response) + _openai_response(body)


def _bedrock_response(body: dict) -> list[str]:
    out: list[str] = []
    output = body.get("output")
    if isinstance(output, dict) and isinstance(output.get("message"), dict):  # Converse
        out += content_texts(output["message"].get("content"))
    out += content_texts(body.get("content")) + _strings(body.get("generation")) + _strings(body.get("completion"))
    for key, field in (("outputs", "text"), ("results", "outputText"), ("generations", "text")):
        for item in body.get(key) or []:
            if isinstance(item, dict):
                out += _strings(item.get(field))
    return out


_RESPONSE: dict[str, Callable[[dict], list[str]]] = {
    "openai": _openai_response,
    "anthropic": _anthropic_response,
    "google": _google_response,
    "cohere": _cohere_response,
    "workers-ai": _workers_ai_response,
    "bedrock": _bedrock_response,
}


def extract_response_texts(family_id: str, path: str, body: Any) -> list[str]:
    """The texts of a decoded JSON response to judge as the response (embeddings give none)."""
    if isinstance(body, (bytes, bytearray)):
        body = _loads(body)
    if isinstance(body, str):
        return _keep([body])
    reader = _RESPONSE.get(family_id)
    texts = reader(body) if reader is not None and isinstance(body, dict) else []
    return _keep(texts) or _keep(_walk(body, _GENERIC_RESPONSE_KEYS))


def _loads(raw: bytes | bytearray) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")
