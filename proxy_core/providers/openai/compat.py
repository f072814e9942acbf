"""The OpenAI family's compat translator: pass-through for every provider that already speaks chat completions.

OpenAI, Azure OpenAI, Groq, Mistral, DeepSeek, Grok, Cerebras, OpenRouter, Perplexity and custom
OpenAI-format providers get the client's body with only ``model`` replaced by the native id; their
answers and streams go back byte for byte. What differs between them is configuration, a :class:`ChatRoute`
in the provider's registry row: where the chat endpoint sits below its base URL, and which header
carries the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from proxy_core.compat.base import CompatError, NativeRequest, bearer_token, error_body, fallback_message, json_or_none
from proxy_core.compat.native_text import chat_request, copy_settings

__all__ = ["AZURE_API_VERSION", "ChatRoute", "OpenAITranslator", "PassThroughStream", "openai_style_error"]

AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True, slots=True)
class ChatRoute:
    """Where a provider's chat endpoint is below its base URL, and how it takes the key."""

    path: str = "/chat/completions"
    """Below the base (``…/v1``), with any query the provider requires (Azure's ``api-version``)."""
    key_header: str | None = None
    """``None``: forward ``Authorization`` as is; else send the bare key in this header."""


class PassThroughStream:
    """A provider stream that already is OpenAI's: every byte goes through unchanged."""

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


class OpenAITranslator:
    """Pass-through translator for one OpenAI-format provider, to its row's :class:`ChatRoute`."""

    family = "openai"

    def __init__(self, route: ChatRoute | None = None) -> None:
        self.route = route or ChatRoute()

    def build_request(self, body: dict[str, Any], model: str) -> NativeRequest:
        if not isinstance(body, dict):
            raise CompatError("the request body must be a JSON object")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise CompatError("'messages' must be a non-empty array", param="messages")
        native = dict(body)
        native["model"] = model
        return NativeRequest(
            self.route.path, orjson.dumps(native), {"content-type": "application/json"}, body.get("stream") is True
        )

    def auth_headers(self, authorization: str | None) -> dict[str, str]:
        if not authorization:
            return {}
        if self.route.key_header is None:
            return {"authorization": authorization}
        token = bearer_token(authorization)
        return {self.route.key_header: token} if token else {}

    def parse_response(self, native: dict[str, Any], model: str) -> dict[str, Any]:
        return native

    def new_stream(self, model: str, include_usage: bool) -> PassThroughStream:
        return PassThroughStream()

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        return openai_style_error(status, native_body)

    def openai_request(self, path: str, native: dict[str, Any]) -> dict[str, Any]:
        """Chat requests are already OpenAI's (``model`` left out); a legacy ``prompt`` (completions,
        Workers AI's ``/run``) becomes one user turn."""
        if isinstance(native.get("messages"), list) and native["messages"]:
            return {key: value for key, value in native.items() if key != "model"}
        if isinstance(native.get("prompt"), str) and native["prompt"]:
            settings = copy_settings(native, _SETTINGS)
            return chat_request([], [{"role": "user", "content": native["prompt"]}], settings)
        raise CompatError("only chat requests ('messages') or a text 'prompt' can be replayed to another API format")


_SETTINGS = tuple((name, name) for name in ("max_tokens", "temperature", "top_p", "stop", "stream", "seed"))


def openai_style_error(status: int, native_body: bytes) -> dict[str, Any]:
    """An OpenAI-style error body from whatever an OpenAI-format provider answered."""
    data = json_or_none(native_body)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            param = err.get("param")
            return error_body(err["message"], status, type=err.get("type") or None,
                              param=param if isinstance(param, str) else None, code=err.get("code"))
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return error_body(data[key], status)
    return error_body(fallback_message(status, native_body), status)
