"""Anthropic's Messages API (``POST /v1/messages``) behind OpenAI chat completions.

System and developer messages become the top-level ``system``; tool calls become ``tool_use``
blocks and tool messages ``tool_result`` blocks in a user turn; ``max_tokens`` defaults to 4096
because Anthropic requires it. Not translatable (400): ``n`` > 1, presence/frequency penalties,
``response_format: json_object`` (use ``json_schema``, sent as ``output_config.format``), logprobs.
``seed`` is ignored: Anthropic has none, and a seed is only a best-effort hint at OpenAI too.
Thinking blocks are not returned (OpenAI's message has no field for them).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from proxy_core.compat.base import (
    CompatError, NativeRequest, as_dict, as_str, bearer_token, error_body, error_type, fallback_message, json_or_none,
)
from proxy_core.compat.completion import ChunkWriter, SSEToChunks, chat_completion, choice, count, tool_call, usage
from proxy_core.compat.request import (
    ChatRequest, content_parts, data_url, file_data, image_url, read_request, tool_arguments, tool_calls,
)
from proxy_core.compat.native_text import chat_request, copy_settings, joined_text
from proxy_core.compat.sse import SSEEvent

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicStream", "AnthropicTranslator"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_STATUS_OF_TYPE = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
    "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429,
    "api_error": 500, "overloaded_error": 529,
}
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def finish_reason(stop_reason: Any) -> str:
    """OpenAI's finish reason for an Anthropic ``stop_reason``."""
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _tool_id(value: str) -> str:
    """Anthropic accepts only ``[A-Za-z0-9_-]`` in tool ids; ids from other providers may not fit."""
    return _BAD_ID_CHARS.sub("_", value)


def _block(part: dict[str, Any], where: str) -> dict[str, Any]:
    kind = part["type"]
    if kind == "text":
        return {"type": "text", "text": part["text"]}
    if kind == "image_url":
        url = image_url(part, where)
        inline = data_url(url)
        if inline:
            return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
        return {"type": "image", "source": {"type": "url", "url": url}}
    if kind == "file":
        media_type, data = file_data(part, where)
        if media_type != "application/pdf":
            raise CompatError(f"{where}: Anthropic takes PDF documents only, not {media_type}", param=where)
        return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    raise CompatError(f"{where}: Anthropic does not take {kind} parts", param=where)


def _messages(req: ChatRequest) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for i, message in enumerate(req.messages):
        where, role = f"messages[{i}]", message["role"]
        parts = content_parts(message, where)
        if role in ("system", "developer"):
            if any(p["type"] != "text" for p in parts):
                raise CompatError(f"{where}: system messages take text only", param=where)
            system.extend(p["text"] for p in parts)
        elif role == "user":
            add("user", [_block(p, where) for p in parts])
        elif role == "assistant":
            blocks = [{"type": "text", "text": p["text"]} for p in parts if p["type"] == "text"]
            if len(blocks) != len(parts):
                raise CompatError(f"{where}: assistant messages take text only", param=where)
            for call_id, name, args in tool_calls(message, where):
                blocks.append({"type": "tool_use", "id": _tool_id(call_id), "name": name,
                               "input": tool_arguments(args, f"{where}.tool_calls")})
            add("assistant", blocks)
        else:
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise CompatError(f"{where}: tool messages need a tool_call_id", param=f"{where}.tool_call_id")
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": _tool_id(call_id)}
            blocks = [_block(p, where) for p in parts]
            if blocks:
                texts_only = all(b["type"] == "text" for b in blocks)
                result["content"] = "".join(b["text"] for b in blocks) if texts_only else blocks
            add("user", [result])
    return system, out


def _tool_choice(req: ChatRequest) -> dict[str, Any] | None:
    if req.tool_choice == "none":
        return {"type": "none"} if req.tools else None
    if not req.tools:
        return None
    choice_obj: dict[str, Any] = {"type": "auto"}
    if req.tool_choice == "required":
        choice_obj = {"type": "any"}
    elif req.tool_choice == "function":
        choice_obj = {"type": "tool", "name": req.tool_name}
    elif req.tool_choice is None and req.parallel_tool_calls is not False:
        return None
    if req.parallel_tool_calls is False:
        choice_obj["disable_parallel_tool_use"] = True
    return choice_obj


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    ints = {k: count(v) for k, v in raw.items() if count(v) is not None}
    if "input_tokens" not in ints and "output_tokens" not in ints:
        return None
    cached = ints.get("cache_read_input_tokens")
    prompt = ints.get("input_tokens", 0) + ints.get("cache_creation_input_tokens", 0) + (cached or 0)
    return usage(prompt, ints.get("output_tokens", 0), cached=cached)


def _stream_error(out: ChunkWriter, err: Any) -> bytes:
    err = err if isinstance(err, dict) else {}
    kind = err.get("type") if isinstance(err.get("type"), str) else "api_error"
    message = err.get("message") if isinstance(err.get("message"), str) else "Anthropic stream error"
    return out.error(message, _STATUS_OF_TYPE.get(kind, 500), type=kind)


def _index(data: dict[str, Any]) -> int | None:
    return data["index"] if isinstance(data.get("index"), int) else None


class AnthropicStream(SSEToChunks):
    """Anthropic's ``message_start`` … ``message_stop`` events as OpenAI chunks."""

    def __init__(self, model: str, include_usage: bool) -> None:
        super().__init__(model, include_usage)
        self._tool_blocks: set[int | None] = set()
        self._usage: dict[str, Any] = {}

    def _event(self, event: SSEEvent) -> bytes:
        data = json_or_none(event.data.encode())
        if not isinstance(data, dict):
            return b""
        kind = as_str(data.get("type")) or event.event
        out = self._out
        if kind == "message_start":
            message = as_dict(data.get("message"))
            out.id = as_str(message.get("id")) or out.id
            out.model = as_str(message.get("model")) or out.model
            self._add_usage(message.get("usage"))
        elif kind == "content_block_start":
            block = as_dict(data.get("content_block"))
            if block.get("type") == "tool_use":
                self._tool_blocks.add(_index(data))
                return out.tool_call(str(block.get("id")), str(block.get("name")))
            if block.get("type") == "text":
                return out.text(block.get("text") or "")
        elif kind == "content_block_delta":
            delta = as_dict(data.get("delta"))
            if delta.get("type") == "text_delta":
                return out.text(delta.get("text") or "")
            if delta.get("type") == "input_json_delta" and _index(data) in self._tool_blocks:
                return out.tool_arguments(delta.get("partial_json") or "")
        elif kind == "message_delta":
            self._add_usage(data.get("usage"))
            delta = as_dict(data.get("delta"))
            if delta.get("stop_reason"):
                return out.finish(finish_reason(delta["stop_reason"]))
        elif kind == "error":
            return _stream_error(out, data.get("error"))
        return b""

    def _add_usage(self, raw: Any) -> None:
        if isinstance(raw, dict):
            self._usage.update({k: v for k, v in raw.items() if v is not None})
            self._out.usage = _usage(self._usage)


class AnthropicTranslator:
    """OpenAI chat completions ⇄ Anthropic Messages."""

    family = "anthropic"

    def build_request(self, body: dict[str, Any], model: str) -> NativeRequest:
        req = read_request(body, "Anthropic", penalties=False)
        if req.response_format == "json_object":
            raise CompatError("Anthropic has no JSON mode; use response_format json_schema", param="response_format")
        system, messages = _messages(req)
        if not messages:
            raise CompatError("Anthropic needs at least one user or assistant message", param="messages")
        native: dict[str, Any] = {"model": model, "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
                                  "messages": messages}
        if system:
            native["system"] = "\n\n".join(system)
        for key, value in (("temperature", req.temperature), ("top_p", req.top_p)):
            if value is not None:
                native[key] = value
        if req.stop:
            native["stop_sequences"] = req.stop
        if req.user:
            native["metadata"] = {"user_id": req.user}
        if req.tools:
            native["tools"] = [
                {"name": t.name, **({"description": t.description} if t.description else {}),
                 "input_schema": t.parameters or {"type": "object", "properties": {}}}
                for t in req.tools
            ]
        choice_obj = _tool_choice(req)
        if choice_obj:
            native["tool_choice"] = choice_obj
        if req.response_format == "json_schema":
            native["output_config"] = {"format": {"type": "json_schema", "schema": req.json_schema}}
        if req.stream:
            native["stream"] = True
        headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        return NativeRequest("/v1/messages", orjson.dumps(native), headers, req.stream)

    def auth_headers(self, authorization: str | None) -> dict[str, str]:
        token = bearer_token(authorization)
        return {"x-api-key": token} if token else {}

    def parse_response(self, native: dict[str, Any], model: str) -> dict[str, Any]:
        blocks = as_dict(native).get("content")
        if not isinstance(blocks, list):
            raise CompatError("Anthropic's answer has no content array", status=502)
        texts, calls = [], []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                texts.append(as_str(block.get("text")) or "")
            elif block.get("type") == "tool_use":
                arguments = orjson.dumps(as_dict(block.get("input"))).decode()
                calls.append(tool_call(str(block.get("id")), str(block.get("name")), arguments))
        choices = [choice(0, "".join(texts), calls, finish_reason(native.get("stop_reason")))]
        model_name = as_str(native.get("model")) or model
        return chat_completion(as_str(native.get("id")), model_name, choices, _usage(native.get("usage")))

    def new_stream(self, model: str, include_usage: bool) -> AnthropicStream:
        return AnthropicStream(model, include_usage)

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        data = json_or_none(native_body)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            kind = err.get("type") if isinstance(err.get("type"), str) else error_type(status)
            return error_body(err["message"], status, type=kind)
        return error_body(fallback_message(status, native_body), status)

    def openai_request(self, path: str, native: dict[str, Any]) -> dict[str, Any]:
        system = [joined_text(native["system"], "system")] if native.get("system") else []
        turns = []
        for index, message in enumerate(native.get("messages") or []):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant"):
                raise CompatError(f"messages[{index}]: role {role!r} cannot be replayed", param="messages")
            turns.append({"role": role, "content": joined_text(message.get("content"), f"messages[{index}].content")})
        return chat_request(system, turns, copy_settings(native, _SETTINGS))


_SETTINGS = (("max_tokens", "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p"),
             ("stop_sequences", "stop"), ("stream", "stream"))  # fmt: skip
