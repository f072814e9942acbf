"""Cohere's v2 Chat API (``POST /v2/chat``) behind OpenAI chat completions.

Cohere v2 is close to OpenAI: the same roles, ``tool_calls`` with JSON-string arguments, tool
messages with ``tool_call_id``. The differences mapped here: ``top_p`` → ``p``, ``stop`` →
``stop_sequences``, ``tool_choice`` → ``REQUIRED``/``NONE`` (a named function is ``REQUIRED`` with
only that tool offered), ``response_format`` → ``json_object`` with an optional ``json_schema``,
answers whose ``content`` is a list of blocks, and the ``content-delta`` / ``tool-call-*`` /
``message-end`` stream. Usage reports ``billed_units`` (what Cohere charges, and what the gateway's
costs use), falling back to ``tokens``. The ``tool_plan`` text is dropped: OpenAI has no field for
it. Not translatable (400): ``n`` > 1, audio and file parts, logprobs. ``user`` and
``parallel_tool_calls`` have no Cohere equivalent and are ignored. A generation that ends in
``ERROR`` or ``TIMEOUT`` is an error (502/504), not a completion.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy_core.compat.base import (
    CompatError, NativeRequest, as_dict, as_list, as_str, error_body, fallback_message, json_or_none,
)
from proxy_core.compat.completion import SSEToChunks, chat_completion, choice, tool_call, usage
from proxy_core.compat.request import ChatRequest, content_parts, image_url, read_request, tool_arguments, tool_calls
from proxy_core.compat.native_text import chat_request, copy_settings, joined_text
from proxy_core.compat.sse import SSEEvent

__all__ = ["CohereStream", "CohereTranslator"]

FINISH_REASONS = {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls"}
FAILED = {"ERROR": 502, "TIMEOUT": 504}


def _messages(req: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, message in enumerate(req.messages):
        where, role = f"messages[{i}]", message["role"]
        parts = content_parts(message, where)
        if role != "user" and any(p["type"] != "text" for p in parts):
            raise CompatError(f"{where}: {role} messages take text only", param=where)
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        if role in ("system", "developer"):
            if text:
                out.append({"role": "system", "content": text})
        elif role == "user":
            if all(p["type"] == "text" for p in parts):
                out.append({"role": "user", "content": text})
                continue
            blocks = []
            for p in parts:
                if p["type"] == "text":
                    blocks.append({"type": "text", "text": p["text"]})
                elif p["type"] == "image_url":
                    blocks.append({"type": "image_url", "image_url": {"url": image_url(p, where)}})
                else:
                    raise CompatError(f"{where}: Cohere does not take {p['type']} parts", param=where)
            out.append({"role": "user", "content": blocks})
        elif role == "assistant":
            native: dict[str, Any] = {"role": "assistant"}
            calls = tool_calls(message, where)
            if text or not calls:
                native["content"] = text
            if calls:
                native["tool_calls"] = [
                    {"id": call_id, "type": "function", "function": {
                        "name": name, "arguments": orjson.dumps(tool_arguments(args, where)).decode()}}
                    for call_id, name, args in calls
                ]
            out.append(native)
        else:
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise CompatError(f"{where}: tool messages need a tool_call_id", param=f"{where}.tool_call_id")
            out.append({"role": "tool", "tool_call_id": call_id, "content": text})
    return out


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    for key in ("billed_units", "tokens"):
        counts = raw.get(key)
        if isinstance(counts, dict):
            found = usage(counts.get("input_tokens"), counts.get("output_tokens"))
            if found is not None:
                return found
    return None


def _message_delta(data: dict[str, Any]) -> dict[str, Any]:
    return as_dict(as_dict(data.get("delta")).get("message"))


class CohereStream(SSEToChunks):
    """Cohere v2 stream events (SSE, or bare JSON lines) as OpenAI chunks."""

    def _event(self, event: SSEEvent) -> bytes:
        data = json_or_none(event.data.encode())
        if not isinstance(data, dict):
            return b""
        kind = as_str(data.get("type")) or event.event
        out = self._out
        if kind == "message-start":
            if not out.started:
                out.id = as_str(data.get("id")) or out.id
        elif kind == "content-delta":
            content = _message_delta(data).get("content")
            return out.text(as_dict(content).get("text"))
        elif kind == "tool-call-start":
            call = _message_delta(data).get("tool_calls")
            if isinstance(call, dict):
                fn = as_dict(call.get("function"))
                return out.tool_call(str(call.get("id")), str(fn.get("name")), as_str(fn.get("arguments")) or "")
        elif kind == "tool-call-delta":
            call = _message_delta(data).get("tool_calls")
            return out.tool_arguments(as_dict(as_dict(call).get("function")).get("arguments"))
        elif kind == "message-end":
            delta = as_dict(data.get("delta"))
            out.usage = _usage(delta.get("usage")) or out.usage
            reason = delta.get("finish_reason") if isinstance(delta.get("finish_reason"), str) else None
            if reason in FAILED:
                return out.error(f"Cohere ended the generation with {reason}", FAILED[reason], code=reason)
            return out.finish(FINISH_REASONS.get(reason, "tool_calls" if out.has_tool_calls() else "stop"))
        return b""


class CohereTranslator:
    """OpenAI chat completions ⇄ Cohere v2 chat."""

    family = "cohere"

    def build_request(self, body: dict[str, Any], model: str) -> NativeRequest:
        req = read_request(body, "Cohere")
        native: dict[str, Any] = {"model": model, "messages": _messages(req)}
        for key, value in (
            ("temperature", req.temperature), ("p", req.top_p), ("max_tokens", req.max_tokens), ("seed", req.seed),
            ("presence_penalty", req.presence_penalty), ("frequency_penalty", req.frequency_penalty),
        ):
            if value is not None:
                native[key] = value
        if req.stop:
            native["stop_sequences"] = req.stop
        tools = [t for t in req.tools if req.tool_choice != "function" or t.name == req.tool_name]
        if tools:
            native["tools"] = [
                {"type": "function", "function": {
                    "name": t.name, "parameters": t.parameters or {"type": "object", "properties": {}},
                    **({"description": t.description} if t.description else {})}}
                for t in tools
            ]
            choice_value = {"required": "REQUIRED", "function": "REQUIRED", "none": "NONE"}.get(req.tool_choice or "")
            if choice_value:
                native["tool_choice"] = choice_value
        if req.response_format:
            fmt: dict[str, Any] = {"type": "json_object"}
            if req.json_schema is not None:
                fmt["json_schema"] = req.json_schema
            native["response_format"] = fmt
        if req.stream:
            native["stream"] = True
        return NativeRequest("/v2/chat", orjson.dumps(native), {"content-type": "application/json"}, req.stream)

    def auth_headers(self, authorization: str | None) -> dict[str, str]:
        return {"authorization": authorization} if authorization else {}

    def parse_response(self, native: dict[str, Any], model: str) -> dict[str, Any]:
        message = native.get("message") if isinstance(native, dict) else None
        if not isinstance(message, dict):
            raise CompatError("Cohere's answer has no message", status=502)
        reason = native.get("finish_reason") if isinstance(native.get("finish_reason"), str) else None
        if reason in FAILED:
            raise CompatError(f"Cohere ended the generation with {reason}", status=FAILED[reason], code=reason)
        content = message.get("content")
        if isinstance(content, str):
            text = content
        else:
            blocks = [b for b in as_list(content) if isinstance(b, dict) and b.get("type") == "text"]
            text = "".join(as_str(b.get("text")) or "" for b in blocks)
        calls = []
        for call in as_list(message.get("tool_calls")):
            fn = as_dict(call).get("function")
            if isinstance(fn, dict):
                calls.append(tool_call(str(call.get("id")), str(fn.get("name")), as_str(fn.get("arguments")) or "{}"))
        finish = FINISH_REASONS.get(reason, "tool_calls" if calls else "stop")
        return chat_completion(as_str(native.get("id")), model, [choice(0, text, calls, finish)],
                               _usage(native.get("usage")))

    def new_stream(self, model: str, include_usage: bool) -> CohereStream:
        return CohereStream(model, include_usage)

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        data = json_or_none(native_body)
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return error_body(data["message"], status)
        return error_body(fallback_message(status, native_body), status)

    def openai_request(self, path: str, native: dict[str, Any]) -> dict[str, Any]:
        """v2 ``messages`` (roles as OpenAI's), or v1's ``preamble`` + ``chat_history`` + ``message``."""
        system, turns = [], []
        if native.get("preamble"):
            system.append(joined_text(native["preamble"], "preamble"))
        history = [(m.get("role"), m.get("message"), f"chat_history[{i}]")
                   for i, m in enumerate(as_list(native.get("chat_history"))) if isinstance(m, dict)]  # fmt: skip
        if isinstance(native.get("message"), str):
            history.append(("USER", native["message"], "message"))
        history += [(m.get("role"), m.get("content"), f"messages[{i}]")
                    for i, m in enumerate(as_list(native.get("messages"))) if isinstance(m, dict)]  # fmt: skip
        for role, content, where in history:
            role = _V1_ROLES.get(role, role)
            if role not in ("system", "user", "assistant"):
                raise CompatError(f"{where}: role {role!r} cannot be replayed", param="messages")
            text = joined_text(content, where)
            if role == "system":
                system.append(text)
            else:
                turns.append({"role": role, "content": text})
        return chat_request(system, turns, copy_settings(native, _SETTINGS))


_V1_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system"}
_SETTINGS = (("max_tokens", "max_tokens"), ("temperature", "temperature"), ("p", "top_p"),
             ("stop_sequences", "stop"), ("seed", "seed"), ("stream", "stream"))  # fmt: skip
