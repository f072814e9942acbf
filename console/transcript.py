"""Stored request and response bodies, read back as a conversation an operator can follow.

Understands OpenAI chat / completions / responses / embeddings, Anthropic messages and content
blocks, Google ``contents``/``parts`` and ``candidates``, Cohere chat, and streamed answers (SSE,
NDJSON, Google's JSON array of chunks), which are reassembled into text. Anything else falls back
to indented JSON or plain text. The result is plain strings: the caller renders them as untrusted
text (see :mod:`console.safe_text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from proxy_core.logrows import iter_stream_events

__all__ = ["Turn", "Transcript", "read_request", "read_response"]

_MAX_JSON_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: who said it (``system``, ``user``, ``assistant``, ``tool``, ``error``…) and what."""

    role: str
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """A body as turns; ``note`` says how it was read (e.g. "stream of 9 events reassembled")."""

    turns: list[Turn] = field(default_factory=list)
    note: str = ""


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _pretty(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    return text if len(text) <= _MAX_JSON_CHARS else text[:_MAX_JSON_CHARS] + "\n… (truncated)"


def _as_text(body: bytes) -> Transcript:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Transcript([], f"binary body, {len(body):,} bytes")
    return Transcript([Turn("body", text)], "text")


def _part(part: Any) -> str:
    """The readable text of one content part/block of any family."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return _pretty(part)
    kind = part.get("type")
    for key in ("text", "input_text", "output_text"):
        if isinstance(part.get(key), str):
            return part[key]
    if kind in ("image_url", "image", "input_image") or "inlineData" in part or "inline_data" in part:
        return "[image]"
    if kind in ("input_audio", "audio"):
        return "[audio]"
    if kind == "tool_use" or "functionCall" in part:
        call = part.get("functionCall") or part
        return f"[tool call {call.get('name', '?')}] {_pretty(call.get('input', call.get('args', {})))}"
    if kind == "tool_result" or "functionResponse" in part:
        content = part.get("content", part.get("functionResponse"))
        return "[tool result] " + (_parts(content) if isinstance(content, list) else _part(content))
    if kind == "thinking" and isinstance(part.get("thinking"), str):
        return "[thinking] " + part["thinking"]
    return _pretty(part)


def _parts(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        return "\n".join(_part(p) for p in parts)
    return _part(parts) if parts is not None else ""


def _tool_calls(message: dict[str, Any]) -> str:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return ""
    lines = []
    for call in calls:
        function = call.get("function", {}) if isinstance(call, dict) else {}
        lines.append(f"[tool call {function.get('name', '?')}] {function.get('arguments', '')}")
    return "\n".join(lines)


def _message(message: Any, default_role: str = "user") -> Turn:
    if not isinstance(message, dict):
        return Turn(default_role, _part(message))
    role = str(message.get("role") or default_role)
    text = _parts(message.get("content", message.get("parts")))
    calls = _tool_calls(message)
    return Turn(role, "\n".join(t for t in (text, calls) if t))


def read_request(body: bytes | None, content_type: str | None = None) -> Transcript:
    """A request body as turns: system prompt, messages, prompt or embedding input."""
    if body is None:
        return Transcript([], "not stored")
    if not body:
        return Transcript([], "empty")
    data = _loads(body)
    if not isinstance(data, dict):
        return Transcript([Turn("json", _pretty(data))], "JSON") if data is not None else _as_text(body)
    turns: list[Turn] = []
    system = data.get("system", data.get("instructions"))
    if system:
        turns.append(Turn("system", _parts(system)))
    instruction = data.get("systemInstruction") or data.get("system_instruction")
    if isinstance(instruction, dict):
        turns.append(Turn("system", _parts(instruction.get("parts"))))
    if isinstance(data.get("messages"), list):
        turns += [_message(m) for m in data["messages"]]
    elif isinstance(data.get("contents"), list):
        turns += [_message(c) for c in data["contents"]]
    elif "prompt" in data:
        turns.append(Turn("prompt", _parts(data["prompt"])))
    elif isinstance(data.get("input"), list) and all(isinstance(m, dict) for m in data["input"]):
        turns += [_message(m) for m in data["input"]]
    elif "input" in data:
        turns.append(Turn("input", _parts(data["input"])))
    elif isinstance(data.get("message"), str):  # Cohere chat v1
        turns.append(Turn("user", data["message"]))
    if not turns:
        return Transcript([Turn("json", _pretty(data))], "JSON")
    model = data.get("model")
    return Transcript(turns, f"model {model}" if isinstance(model, str) else "")


def _response_turns(data: Any) -> list[Turn]:
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("error"), (dict, str)):
        error = data["error"]
        message = error.get("message", _pretty(error)) if isinstance(error, dict) else error
        return [Turn("error", str(message))]
    if isinstance(data.get("choices"), list):
        turns = []
        for choice in data["choices"]:
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                turns.append(_message(choice["message"], "assistant"))
            elif isinstance(choice, dict) and isinstance(choice.get("text"), str):
                turns.append(Turn("completion", choice["text"]))
        return turns
    if data.get("type") == "message" and isinstance(data.get("content"), list):
        return [Turn(str(data.get("role") or "assistant"), _parts(data["content"]))]
    if isinstance(data.get("candidates"), list):
        return [
            _message(c.get("content", {}), "model") for c in data["candidates"] if isinstance(c, dict)
        ]
    if isinstance(data.get("output"), list):  # OpenAI Responses API
        return [_message(item, "assistant") for item in data["output"] if isinstance(item, dict) and "content" in item]
    if isinstance(data.get("data"), list) and data["data"] and isinstance(data["data"][0], dict) and "embedding" in data["data"][0]:
        first = data["data"][0]["embedding"]
        dims = len(first) if isinstance(first, list) else "?"
        return [Turn("embeddings", f"{len(data['data'])} embedding(s) of {dims} dimensions")]
    if isinstance(data.get("embedding"), dict):
        return [Turn("embeddings", f"1 embedding of {len(data['embedding'].get('values') or [])} dimensions")]
    if isinstance(data.get("text"), str):  # Cohere chat v1
        return [Turn("assistant", data["text"])]
    if isinstance(data.get("message"), dict):  # Cohere chat v2
        return [_message(data["message"], "assistant")]
    return []


def _delta_text(event: Any, pieces: dict[int, list[str]]) -> None:
    """Append the text one streamed event carries, keyed by choice/block index."""
    if not isinstance(event, dict):
        return
    kind = event.get("type")
    if isinstance(event.get("choices"), list):
        for choice in event["choices"]:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
            text = text if isinstance(text, str) else choice.get("text")
            if isinstance(text, str):
                pieces.setdefault(index, []).append(text)
            for call in (delta.get("tool_calls") or []) if isinstance(delta, dict) else []:
                function = (call.get("function") or {}) if isinstance(call, dict) else {}
                if function.get("name"):
                    pieces.setdefault(index, []).append(f"\n[tool call {function['name']}] ")
                if isinstance(function.get("arguments"), str):
                    pieces.setdefault(index, []).append(function["arguments"])
    elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
        delta = event["delta"]
        text = delta.get("text", delta.get("partial_json", delta.get("thinking")))
        if isinstance(text, str):
            pieces.setdefault(int(event.get("index") or 0), []).append(text)
    elif kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
        pieces.setdefault(0, []).append(event["delta"])
    elif kind == "content-delta":  # Cohere v2
        text = ((event.get("delta") or {}).get("message") or {}).get("content", {}).get("text")
        if isinstance(text, str):
            pieces.setdefault(0, []).append(text)
    elif event.get("event_type") == "text-generation" and isinstance(event.get("text"), str):  # Cohere v1
        pieces.setdefault(0, []).append(event["text"])
    elif isinstance(event.get("candidates"), list):
        for candidate in event["candidates"]:
            parts = (candidate.get("content") or {}).get("parts") if isinstance(candidate, dict) else None
            for part in parts or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    pieces.setdefault(int(candidate.get("index") or 0), []).append(part["text"])
    elif isinstance(event.get("response"), str):  # Workers AI / Ollama generate
        pieces.setdefault(0, []).append(event["response"])


def read_response(body: bytes | None, content_type: str | None = None, *, streamed: bool = False) -> Transcript:
    """A response body as turns; streams are reassembled into the text they carried."""
    if body is None:
        return Transcript([], "not stored")
    if not body:
        return Transcript([], "empty")
    content_type = (content_type or "").lower()
    stream_type = any(t in content_type for t in ("event-stream", "ndjson", "stream+json"))
    data = None if stream_type else _loads(body)
    if data is not None and not isinstance(data, list):
        turns = _response_turns(data)
        return Transcript(turns, "") if turns else Transcript([Turn("json", _pretty(data))], "JSON")
    if stream_type or streamed or isinstance(data, list):
        events = list(iter_stream_events(body, content_type or "application/json"))
        if events:
            pieces: dict[int, list[str]] = {}
            for event in events:
                _delta_text(event, pieces)
            errors = [t for e in events for t in _response_turns(e) if t.role == "error"]
            turns = [Turn("assistant", "".join(pieces[i])) for i in sorted(pieces)] + errors
            if turns:
                return Transcript(turns, f"stream of {len(events)} events, reassembled")
            return Transcript([Turn("json", _pretty(events))], f"stream of {len(events)} events")
    if data is not None:
        return Transcript([Turn("json", _pretty(data))], "JSON")
    return _as_text(body)
