"""The OpenAI chat-completions request, read and checked once for the translating families.

:func:`read_request` validates the parameters every family shares and rejects the ones no
translating family can honour, so each family module only maps fields. Unknown top-level keys are
ignored (OpenAI keeps adding optional ones); known ones we cannot honour raise :class:`CompatError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from proxy_core.compat.base import CompatError, as_dict, as_str

__all__ = [
    "ChatRequest",
    "FunctionTool",
    "content_parts",
    "data_url",
    "file_data",
    "image_url",
    "read_request",
    "tool_arguments",
    "tool_calls",
]

_ROLES = ("system", "developer", "user", "assistant", "tool")


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """One ``{"type": "function"}`` tool."""

    name: str
    description: str | None
    parameters: dict[str, Any] | None


@dataclass(slots=True)
class ChatRequest:
    """The checked request. ``tool_choice`` is ``auto``, ``none``, ``required``, ``function`` or ``None``."""

    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    n: int = 1
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    tools: list[FunctionTool] = field(default_factory=list)
    tool_choice: str | None = None
    tool_name: str | None = None
    parallel_tool_calls: bool | None = None
    response_format: str | None = None
    """``json_object``, ``json_schema`` or ``None`` (plain text)."""
    json_schema: dict[str, Any] | None = None


def _number(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CompatError(f"'{key}' must be a number", param=key)
    return value


def _int(body: dict, key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CompatError(f"'{key}' must be an integer >= {minimum}", param=key)
    return value


def read_request(body: Any, provider: str, *, multiple_choices: bool = False, penalties: bool = True) -> ChatRequest:
    """Check ``body`` for ``provider`` (a display name used in error messages)."""
    if not isinstance(body, dict):
        raise CompatError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise CompatError("'messages' must be a non-empty array", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise CompatError(f"messages[{i}] needs a role among {', '.join(_ROLES)}", param=f"messages[{i}].role")
    for key, hint in (("functions", "use 'tools'"), ("function_call", "use 'tool_choice'")):
        if body.get(key) is not None:
            raise CompatError(f"'{key}' is deprecated and not translated; {hint}", param=key)
    for key in ("audio", "prediction", "web_search_options", "reasoning_effort", "top_logprobs"):
        if body.get(key) is not None:
            raise CompatError(f"'{key}' is not supported for {provider} through /compat", param=key)
    if body.get("logprobs") or body.get("logit_bias"):
        key = "logprobs" if body.get("logprobs") else "logit_bias"
        raise CompatError(f"'{key}' is not supported for {provider} through /compat", param=key)
    if body.get("modalities") not in (None, ["text"]):
        raise CompatError(f"only text output is supported for {provider} through /compat", param="modalities")
    req = ChatRequest(messages=messages)
    req.stream = body.get("stream") is True
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise CompatError("'stream_options' must be an object", param="stream_options")
    req.include_usage = req.stream and bool((options or {}).get("include_usage"))
    req.temperature = _number(body, "temperature")
    req.top_p = _number(body, "top_p")
    req.max_tokens = _int(body, "max_completion_tokens", 1) or _int(body, "max_tokens", 1)
    req.n = _int(body, "n", 1) or 1
    if req.n > 1 and not multiple_choices:
        raise CompatError(f"{provider} returns one choice per request; 'n' must be 1", param="n")
    req.seed = _int(body, "seed", -(2**63))
    req.presence_penalty = _number(body, "presence_penalty")
    req.frequency_penalty = _number(body, "frequency_penalty")
    if not penalties and (req.presence_penalty or req.frequency_penalty):
        key = "presence_penalty" if req.presence_penalty else "frequency_penalty"
        raise CompatError(f"{provider} has no '{key}'; leave it unset or 0", param=key)
    user = body.get("user")
    req.user = user if isinstance(user, str) and user else None
    stop = body.get("stop")
    if isinstance(stop, str):
        req.stop = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        req.stop = list(stop)
    elif stop is not None:
        raise CompatError("'stop' must be a string or an array of strings", param="stop")
    _read_tools(body, req)
    _read_response_format(body, req)
    return req


def _read_tools(body: dict, req: ChatRequest) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise CompatError("'tools' must be an array", param="tools")
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                raise CompatError(f"tools[{i}] must be a function tool with a name", param=f"tools[{i}]")
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise CompatError(f"tools[{i}].function.parameters must be an object", param=f"tools[{i}]")
            desc = fn.get("description")
            req.tools.append(FunctionTool(fn["name"], desc if isinstance(desc, str) else None, params))
    choice = body.get("tool_choice")
    if choice in ("auto", "none", "required"):
        req.tool_choice = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = as_str(as_dict(choice.get("function")).get("name"))
        if name is None or name not in {t.name for t in req.tools}:
            raise CompatError(f"tool_choice names '{name}', which is not in 'tools'", param="tool_choice")
        req.tool_choice, req.tool_name = "function", name
    elif choice is not None:
        raise CompatError("'tool_choice' must be auto, none, required or a function", param="tool_choice")
    if req.tool_choice in ("required", "function") and not req.tools:
        raise CompatError("'tool_choice' requires 'tools'", param="tool_choice")
    parallel = body.get("parallel_tool_calls")
    req.parallel_tool_calls = parallel if isinstance(parallel, bool) else None


def _read_response_format(body: dict, req: ChatRequest) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        req.response_format = "json_object"
        return
    schema = as_dict(fmt.get("json_schema")).get("schema") if kind == "json_schema" else None
    if not isinstance(schema, dict):
        raise CompatError("'response_format' must be text, json_object or json_schema with a schema",
                          param="response_format")
    req.response_format, req.json_schema = "json_schema", schema


def content_parts(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The message's content as OpenAI parts (a string becomes one text part; empty text is dropped)."""
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise CompatError(f"{where}.content must be a string or an array of parts", param=f"{where}.content")
    parts = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise CompatError(f"{where}.content[{i}] needs a string '{kind}'", param=f"{where}.content")
            if text:
                parts.append({"type": "text", "text": text})
        elif kind in ("image_url", "input_audio", "file"):
            parts.append(part)
        else:
            raise CompatError(f"{where}.content[{i}] has an unknown part type {kind!r}", param=f"{where}.content")
    return parts


def data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64_data)`` of a ``data:…;base64,…`` URL; ``None`` for other URLs."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if not sep or encoding != "base64" or not media_type:
        raise CompatError("data URLs must be 'data:<media type>;base64,<data>'")
    return media_type, data


def image_url(part: dict[str, Any], where: str) -> str:
    """The URL of an ``image_url`` part (``{"url": …}`` or, leniently, a bare string)."""
    value = part.get("image_url")
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url:
        raise CompatError(f"{where}: an image_url part needs a url", param=where)
    if data_url(url) is None and not url.startswith(("https://", "http://")):
        raise CompatError(f"{where}: image URLs must be http(s) or data: URLs", param=where)
    return url


def file_data(part: dict[str, Any], where: str) -> tuple[str, str]:
    """``(media_type, base64_data)`` of a ``file`` part sent inline (uploaded ``file_id``s cannot be)."""
    file = part.get("file") if isinstance(part.get("file"), dict) else {}
    raw = file.get("file_data")
    if not isinstance(raw, str) or not raw:
        raise CompatError(f"{where}: only inline file parts (file_data) can be translated", param=where)
    inline = data_url(raw)
    if inline is not None:
        return inline
    name = file.get("filename")
    if isinstance(name, str) and name.lower().endswith(".pdf"):
        return "application/pdf", raw
    raise CompatError(f"{where}: file_data must be a data: URL naming its media type", param=where)


def tool_calls(message: dict[str, Any], where: str) -> list[tuple[str, str, str]]:
    """``(id, name, arguments)`` of an assistant message's ``tool_calls``."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise CompatError(f"{where}.tool_calls must be an array", param=f"{where}.tool_calls")
    out = []
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(call.get("id"), str) or not isinstance(fn.get("name"), str):
            raise CompatError(f"{where}.tool_calls[{i}] needs an id and a function name", param=f"{where}.tool_calls")
        args = fn.get("arguments")
        out.append((call["id"], fn["name"], args if isinstance(args, str) else ""))
    return out


def tool_arguments(arguments: str, where: str) -> dict[str, Any]:
    """A tool call's ``arguments`` JSON string as an object (``""`` is ``{}``)."""
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        raise CompatError(f"{where}: tool call arguments are not valid JSON", param=where) from None
    if not isinstance(value, dict):
        raise CompatError(f"{where}: tool call arguments must be a JSON object", param=where)
    return value
