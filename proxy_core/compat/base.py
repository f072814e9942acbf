"""The contract every compat translator keeps, and the error type they all raise.

A *translator* turns one OpenAI chat-completions request into one provider family's native request,
and that family's answer (JSON, stream or error) back into OpenAI's shapes, so that the official
``openai`` SDK reads the same thing whichever provider answered. Translators are pure: they take
dicts and bytes and return dicts and bytes; the proxy does the I/O.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = [
    "CompatError",
    "NativeRequest",
    "StreamState",
    "Translator",
    "as_dict",
    "as_list",
    "as_str",
    "bearer_token",
    "error_body",
    "error_type",
    "fallback_message",
    "json_or_none",
    "new_id",
    "now",
]


class CompatError(ValueError):
    """A request (or answer) the compat endpoint cannot translate, with the HTTP status to answer.

    ``status`` is 400 for client input; translators use 502 when the provider's answer is unusable.
    :meth:`body` is the OpenAI-style error object to send to the client.
    """

    def __init__(self, message: str, status: int = 400, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}`` for this error."""
        return error_body(self.message, self.status, param=self.param, code=self.code)


@dataclass(frozen=True, slots=True)
class NativeRequest:
    """What to send upstream: a path below the provider's base URL, a JSON body and extra headers."""

    path: str
    """Below the provider base, starting with ``/``; may carry a query (``?alt=sse``)."""
    body: bytes
    """The native JSON body."""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers to add (content type, API version); credentials come from ``auth_headers``."""
    stream: bool = False
    """Whether the provider will answer with a stream (use the translator's ``new_stream``)."""


class StreamState(Protocol):
    """Turns one provider stream into OpenAI ``chat.completion.chunk`` server-sent events."""

    def feed(self, chunk: bytes) -> bytes:
        """Take any slice of the provider's stream; return zero or more complete OpenAI SSE events.

        Partial lines are buffered until their end arrives, so chunks may split anywhere (even
        inside a UTF-8 character or between ``\\r`` and ``\\n``).
        """

    def finish(self) -> bytes:
        """Flush at the end of the provider stream: the usage chunk (when asked for), then ``[DONE]``."""


class Translator(Protocol):
    """One provider family, seen from the OpenAI chat-completions API.

    ``model`` arguments are the native model id, i.e. the part of the client's ``{provider}/{model}``
    after the first ``/``. Answers name the model the provider reported (falling back to ``model``),
    never the ``{provider}/`` prefix, exactly as pass-through providers such as OpenAI or Groq do.
    """

    family: str
    """The family id this translator serves (``openai``, ``anthropic``, ``google``, …)."""

    def build_request(self, body: dict[str, Any], model: str) -> NativeRequest:
        """The native request for an OpenAI chat-completions ``body``; :class:`CompatError` if impossible."""

    def auth_headers(self, authorization: str | None) -> dict[str, str]:
        """The provider's credential headers for the client's ``Authorization`` value (``{}`` if none).

        The proxy sends these *instead of* the client's ``Authorization`` header.
        """

    def parse_response(self, native: dict[str, Any], model: str) -> dict[str, Any]:
        """An OpenAI ``chat.completion`` object for the provider's decoded JSON answer."""

    def new_stream(self, model: str, include_usage: bool) -> StreamState:
        """A fresh :class:`StreamState` for one streamed answer."""

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        """The provider's error answer as ``{"error": {"message", "type", "param", "code"}}``."""

    def openai_request(self, path: str, native: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI chat-completions body (without ``model``) that asks what the native request
        ``native`` to ``path`` (below the provider base) asked: the inverse of :meth:`build_request`
        for text turns (see :mod:`proxy_core.compat.native_text`), used to replay a logged request to
        a provider of another family. :class:`CompatError` when the request cannot be carried.
        """


_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """The OpenAI-style error ``type`` for an HTTP status."""
    if status in _TYPES:
        return _TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(
    message: str, status: int, *, type: str | None = None, param: str | None = None, code: Any = None
) -> dict[str, Any]:
    """``{"error": {...}}`` in OpenAI's shape (``code`` is a string or ``None``)."""
    return {
        "error": {
            "message": message,
            "type": type or error_type(status),
            "param": param,
            "code": None if code is None else str(code),
        }
    }


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else ``{}`` (provider answers are read defensively)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else ``[]``."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def json_or_none(raw: bytes) -> Any:
    """``raw`` decoded as JSON, or ``None`` when it is not JSON."""
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer TOKEN`` header value (case-insensitive scheme), else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def new_id(prefix: str) -> str:
    """A fresh random id such as ``chatcmpl-3f2a…``."""
    return prefix + uuid.uuid4().hex[:24]


def now() -> int:
    """The ``created`` timestamp: Unix seconds."""
    return int(time.time())


def fallback_message(status: int, native_body: bytes) -> str:
    """A message for an error body that is not JSON: its text (shortened), or the status."""
    text = native_body.decode("utf-8", errors="replace").strip()
    if text and not text.startswith("<"):
        return text[:500]
    return f"the provider answered HTTP {status}"
