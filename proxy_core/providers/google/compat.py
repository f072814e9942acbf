"""Google's ``generateContent`` (AI Studio's Gemini API, and Vertex AI) behind OpenAI chat completions.

AI Studio models are ids (``gemini-2.0-flash``, optionally ``models/…``), sent to
``/v1beta/models/{model}:generateContent``; Vertex models are full resource names
(``projects/P/locations/L/publishers/google/models/M``), sent to ``/v1/{model}:generateContent``.
System messages become ``systemInstruction``, assistant turns ``model`` turns, tool calls
``functionCall`` parts and tool messages ``functionResponse`` parts (named from the earlier call).
Tool parameters go as ``parametersJsonSchema`` (full JSON Schema), ``n`` as ``candidateCount``.

Gemini 3 requires each ``functionCall``'s ``thoughtSignature`` back on the next turn; OpenAI's tool
call has no field for it, so it rides in the tool call id (``call_…__thought__SIGNATURE``) that
clients echo back unchanged. Not translatable (400): logprobs, non-inline files.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

import orjson

from proxy_core.compat.base import (
    CompatError, NativeRequest, as_dict, as_list, as_str, bearer_token, error_body, fallback_message, json_or_none,
    new_id,
)
from proxy_core.compat.completion import SSEToChunks, chat_completion, choice, count, tool_call, usage
from proxy_core.compat.request import (
    ChatRequest, content_parts, data_url, file_data, image_url, read_request, tool_arguments, tool_calls,
)
from proxy_core.compat.native_text import chat_request, copy_settings, joined_text
from proxy_core.compat.sse import SSEEvent

__all__ = ["SIGNATURE_MARK", "GoogleStream", "GoogleTranslator"]

SIGNATURE_MARK = "__thought__"
_STUDIO_MODEL = re.compile(r"(?:models/)?([A-Za-z0-9][A-Za-z0-9._-]*)")
_VERTEX_MODEL = re.compile(r"projects/[A-Za-z0-9._-]+/locations/[a-z0-9-]+/publishers/google/models/[A-Za-z0-9._@-]+")
_FILTERED = {
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
    "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
}


def finish_reason(reason: Any, called_tools: bool) -> str:
    """OpenAI's finish reason for a Gemini ``finishReason``."""
    if isinstance(reason, str) and reason in _FILTERED:
        return "content_filter"
    if reason == "MAX_TOKENS":
        return "length"
    return "tool_calls" if called_tools else "stop"


def _part(part: dict[str, Any], where: str) -> dict[str, Any]:
    kind = part["type"]
    if kind == "text":
        return {"text": part["text"]}
    if kind == "image_url":
        url = image_url(part, where)
        inline = data_url(url)
        if inline:
            return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    if kind == "input_audio":
        audio = part.get("input_audio") if isinstance(part.get("input_audio"), dict) else {}
        if not isinstance(audio.get("data"), str) or not isinstance(audio.get("format"), str):
            raise CompatError(f"{where}: input_audio needs data and format", param=where)
        return {"inlineData": {"mimeType": f"audio/{audio['format']}", "data": audio["data"]}}
    media_type, data = file_data(part, where)
    return {"inlineData": {"mimeType": media_type, "data": data}}


def _function_response(text: str) -> dict[str, Any]:
    value = json_or_none(text.encode())
    if isinstance(value, dict):
        return value
    return {"result": text if value is None else value}


def _contents(req: ChatRequest) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}

    def add(role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for i, message in enumerate(req.messages):
        where, role = f"messages[{i}]", message["role"]
        parts = content_parts(message, where)
        if role in ("system", "developer", "assistant", "tool") and any(p["type"] != "text" for p in parts):
            raise CompatError(f"{where}: {role} messages take text only", param=where)
        if role in ("system", "developer"):
            system.extend(p["text"] for p in parts)
        elif role == "user":
            add("user", [_part(p, where) for p in parts])
        elif role == "assistant":
            native = [{"text": p["text"]} for p in parts]
            for call_id, name, args in tool_calls(message, where):
                names[call_id] = name
                call: dict[str, Any] = {"functionCall": {"name": name, "args": tool_arguments(args, where)}}
                signature = call_id.partition(SIGNATURE_MARK)[2]
                if signature:
                    call["thoughtSignature"] = signature
                native.append(call)
            add("model", native)
        else:
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in names:
                raise CompatError(f"{where}: tool_call_id {call_id!r} matches no earlier assistant tool call",
                                  param=f"{where}.tool_call_id")
            text = "".join(p["text"] for p in parts)
            add("user", [{"functionResponse": {"name": names[call_id], "response": _function_response(text)}}])
    return system, contents


def _generation_config(req: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in (
        ("temperature", req.temperature), ("topP", req.top_p), ("maxOutputTokens", req.max_tokens),
        ("seed", req.seed), ("presencePenalty", req.presence_penalty), ("frequencyPenalty", req.frequency_penalty),
    ):
        if value is not None:
            config[key] = value
    if req.stop:
        config["stopSequences"] = req.stop
    if req.n > 1:
        config["candidateCount"] = req.n
    if req.response_format:
        config["responseMimeType"] = "application/json"
    if req.response_format == "json_schema":
        config["responseJsonSchema"] = req.json_schema
    return config


def _tools(req: ChatRequest) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if not req.tools:
        return [], None
    declarations = []
    for tool in req.tools:
        decl: dict[str, Any] = {"name": tool.name}
        if tool.description:
            decl["description"] = tool.description
        if tool.parameters and tool.parameters.get("properties"):
            decl["parametersJsonSchema"] = tool.parameters
        declarations.append(decl)
    mode = {"none": "NONE", "required": "ANY", "function": "ANY", "auto": "AUTO"}.get(req.tool_choice or "")
    config: dict[str, Any] | None = None
    if mode:
        config = {"functionCallingConfig": {"mode": mode}}
        if req.tool_name:
            config["functionCallingConfig"]["allowedFunctionNames"] = [req.tool_name]
    return [{"functionDeclarations": declarations}], config


def _call_id(part: dict[str, Any]) -> str:
    call_id = as_str(as_dict(part.get("functionCall")).get("id")) or new_id("call_")
    signature = as_str(part.get("thoughtSignature"))
    return f"{call_id}{SIGNATURE_MARK}{signature}" if signature else call_id


def _candidate_output(candidate: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    texts, calls = [], []
    for part in as_list(as_dict(candidate.get("content")).get("parts")):
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            arguments = orjson.dumps(as_dict(call.get("args"))).decode()
            calls.append(tool_call(_call_id(part), str(call.get("name")), arguments))
    return "".join(texts), calls


def _usage(meta: Any) -> dict[str, Any] | None:
    if not isinstance(meta, dict):
        return None
    thoughts = count(meta.get("thoughtsTokenCount"))
    completion = (count(meta.get("candidatesTokenCount")) or 0) + (thoughts or 0)
    return usage(meta.get("promptTokenCount"), completion, total=meta.get("totalTokenCount"),
                 cached=meta.get("cachedContentTokenCount"), reasoning=thoughts)


class GoogleStream(SSEToChunks):
    """``streamGenerateContent?alt=sse`` events (whole ``GenerateContentResponse`` objects) as OpenAI chunks."""

    def _event(self, event: SSEEvent) -> bytes:
        data = json_or_none(event.data.encode())
        out = self._out
        if not isinstance(data, dict):
            return b""
        if isinstance(data.get("error"), dict):
            err = data["error"]
            status = err.get("code") if isinstance(err.get("code"), int) else 500
            message = as_str(err.get("message")) or "Google stream error"
            return out.error(message, status, code=as_str(err.get("status")))
        if not out.started:
            out.id = as_str(data.get("responseId")) or out.id
            out.model = as_str(data.get("modelVersion")) or out.model
        out.usage = _usage(data.get("usageMetadata")) or out.usage
        chunks = []
        candidates = [c for c in as_list(data.get("candidates")) if isinstance(c, dict)]
        for candidate in candidates:
            index = count(candidate.get("index")) or 0
            text, calls = _candidate_output(candidate)
            chunks.append(out.text(text, index))
            for call in calls:
                fn = call["function"]
                chunks.append(out.tool_call(call["id"], fn["name"], fn["arguments"], index))
            if candidate.get("finishReason"):
                chunks.append(out.finish(finish_reason(candidate["finishReason"], out.has_tool_calls(index)), index))
        if not candidates and as_dict(data.get("promptFeedback")).get("blockReason"):
            chunks.append(out.finish("content_filter"))
        return b"".join(chunks)


class GoogleTranslator:
    """OpenAI chat completions ⇄ Gemini ``generateContent``; ``vertex`` selects Vertex AI paths and auth."""

    family = "google"

    def __init__(self, vertex: bool = False) -> None:
        self.vertex = vertex

    def _model_path(self, model: str) -> str:
        if self.vertex:
            if not _VERTEX_MODEL.fullmatch(model):
                raise CompatError("Vertex AI models are 'projects/P/locations/L/publishers/google/models/M'",
                                  param="model")
            return f"/v1/{model}"
        match = _STUDIO_MODEL.fullmatch(model)
        if not match:
            raise CompatError(f"invalid Google AI Studio model {model!r}", param="model")
        return f"/v1beta/models/{match.group(1)}"

    def build_request(self, body: dict[str, Any], model: str) -> NativeRequest:
        req = read_request(body, "Google", multiple_choices=True)
        path = self._model_path(model)
        system, contents = _contents(req)
        if not contents:
            raise CompatError("Google needs at least one user or assistant message", param="messages")
        native: dict[str, Any] = {"contents": contents}
        if system:
            native["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
        tools, tool_config = _tools(req)
        if tools:
            native["tools"] = tools
        if tool_config:
            native["toolConfig"] = tool_config
        config = _generation_config(req)
        if config:
            native["generationConfig"] = config
        path += ":streamGenerateContent?alt=sse" if req.stream else ":generateContent"
        return NativeRequest(path, orjson.dumps(native), {"content-type": "application/json"}, req.stream)

    def auth_headers(self, authorization: str | None) -> dict[str, str]:
        if self.vertex:  # an OAuth access token, sent as is
            return {"authorization": authorization} if authorization else {}
        token = bearer_token(authorization)
        return {"x-goog-api-key": token} if token else {}

    def parse_response(self, native: dict[str, Any], model: str) -> dict[str, Any]:
        if not isinstance(native, dict):
            raise CompatError("Google's answer is not a JSON object", status=502)
        candidates = [c for c in as_list(native.get("candidates")) if isinstance(c, dict)]
        choices = []
        for position, candidate in enumerate(candidates):
            index = count(candidate.get("index"))
            index = position if index is None else index
            text, calls = _candidate_output(candidate)
            choices.append(choice(index, text, calls, finish_reason(candidate.get("finishReason"), bool(calls))))
        if not choices:  # the prompt itself was blocked
            blocked = as_dict(native.get("promptFeedback")).get("blockReason")
            choices.append(choice(0, "", [], "content_filter" if blocked else "stop"))
        choices.sort(key=lambda c: c["index"])
        model_name = as_str(native.get("modelVersion")) or model
        return chat_completion(as_str(native.get("responseId")), model_name, choices,
                               _usage(native.get("usageMetadata")))

    def new_stream(self, model: str, include_usage: bool) -> GoogleStream:
        return GoogleStream(model, include_usage)

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        data = json_or_none(native_body)
        if isinstance(data, list) and data:  # streamGenerateContent without alt=sse answers an array
            data = data[0]
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return error_body(err["message"], status, code=as_str(err.get("status")))
        return error_body(fallback_message(status, native_body), status)

    def openai_request(self, path: str, native: dict[str, Any]) -> dict[str, Any]:
        instruction = as_dict(native.get("systemInstruction"))
        system = [joined_text(instruction.get("parts"), "systemInstruction.parts")] if instruction else []
        turns = []
        for index, content in enumerate(as_list(native.get("contents"))):
            role = as_dict(content).get("role", "user")
            if role not in ("user", "model"):
                raise CompatError(f"contents[{index}]: role {role!r} cannot be replayed", param="contents")
            text = joined_text(as_dict(content).get("parts"), f"contents[{index}].parts")
            turns.append({"role": "assistant" if role == "model" else "user", "content": text})
        settings = copy_settings(as_dict(native.get("generationConfig")), _SETTINGS)
        if ":streamGenerateContent" in path:
            settings["stream"] = True
        return chat_request(system, turns, settings)


_SETTINGS = (("maxOutputTokens", "max_tokens"), ("temperature", "temperature"), ("topP", "top_p"),
             ("stopSequences", "stop"), ("candidateCount", "n"), ("seed", "seed"))  # fmt: skip
