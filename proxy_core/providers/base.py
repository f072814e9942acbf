"""The small interface every provider family implements, and the helpers they share.

A *family* is one upstream API shape (OpenAI-compatible, Anthropic, Google, …), one folder
``proxy_core/providers/<family>/``. Many providers share a family: Groq, Mistral or a local vLLM
are OpenAI-compatible and need only a row in :mod:`proxy_core.providers.registry`. Callers ask the
row's family object (never branch on a family name) for everything that depends on the API: the
upstream base URL, model and usage, the texts guardrails judge, the compat translator. Families
read; they never change what is forwarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, runtime_checkable

from proxy_core.compat.base import Translator
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.texts import StreamText

__all__ = [
    "DNS_LABEL", "JsonApiDefaults", "ModelType", "Usage", "ProviderFamily", "STREAM_DONE", "fill_base", "int_or_none", "model_type_from_path",
]  # fmt: skip


DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
"""What a path segment must be to become a label of the upstream host (Azure resource, regions)."""


class _StreamDone:
    __slots__ = ()

    def __repr__(self) -> str:
        return "STREAM_DONE"


STREAM_DONE = _StreamDone()
"""What :meth:`ProviderFamily.stream_ended` is given for an SSE ``data: [DONE]`` line (one object,
compared with ``is``, so no decoded event can pass for it)."""


class ModelType:
    """The model types a log records (the guardrails decide what to judge from it)."""

    TEXT = "text-generation"
    EMBEDDINGS = "embeddings"
    AUDIO = "audio"
    IMAGE = "image"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Usage:
    """What a family could read from one exchange; ``None`` means the provider did not say."""

    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None

    def update(self, tokens_in: int | None, tokens_out: int | None) -> None:
        """Take the counts a provider gave; a count it did not give keeps what was known."""
        if tokens_in is not None:
            self.tokens_in = tokens_in
        if tokens_out is not None:
            self.tokens_out = tokens_out


@runtime_checkable
class ProviderFamily(Protocol):
    """Everything about one API family that the gateway needs; a registry row points at one.

    A family class may take constructor arguments for what differs between providers of one API
    (the OpenAI family's chat route, Vertex AI's paths and auth): those rows hold their own instance.
    """

    id: str
    """The family's name, also the ``format`` a custom provider names in config."""

    def upstream_base(self, provider: str, base: str, values: Mapping[str, str], path: str) -> str:
        """The upstream base URL for a request to ``path`` (the client's path below the row's path
        parameters): ``base`` with its ``{placeholders}`` filled from ``values`` (the row's path
        parameters and ``account``, already checked as DNS labels or path segments) and from
        whatever this API reads from the path. Raises :class:`GatewayError` for a path it refuses."""

    def model_type(self, path: str) -> str:
        """The :class:`ModelType` of a request to ``path`` (the path below the provider base)."""

    def request_model(self, path: str, body: Any) -> str | None:
        """The model a request asks for, from its path or its decoded JSON body (or ``None``)."""

    def parse_response(self, body: Any, usage: Usage) -> None:
        """Fill ``usage`` from a decoded, non-streamed JSON response body."""

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        """Fill ``usage`` from one decoded event of a streamed response (called in order)."""

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        """Fill ``usage`` from response headers, for APIs that report usage there."""

    def stream_ended(self, event: Any) -> bool | None:
        """Whether ``event`` (a decoded stream event, or :data:`STREAM_DONE`) is the marker that
        ends a complete stream of this API. ``None``, whatever the event, when the API has no such
        marker: a stream cut short cannot be told from a whole one."""

    def prompt_texts(self, body: dict[str, Any]) -> list[str]:
        """The texts guardrails judge in a decoded JSON request: one per message or content part,
        so that earlier turns hash the same on every request (non-text content is left out)."""

    def response_texts(self, body: dict[str, Any]) -> list[str]:
        """The texts guardrails judge in a decoded, non-streamed JSON response."""

    def read_stream_event(self, event: dict[str, Any], out: StreamText) -> None:
        """Add the text pieces of one decoded stream event to ``out``, each in its slot (choice,
        block, candidate), so that a streamed response is judged as whole texts."""

    def translator(self) -> Translator | None:
        """The OpenAI-compatible endpoint's translator to and from this API, or ``None`` when the
        family cannot be reached through ``/compat/chat/completions``."""


def int_or_none(value: Any) -> int | None:
    """``value`` when it is a real integer count, else ``None`` (bools and strings are not counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def model_type_from_path(path: str) -> str:
    """A model type guessed from the common path vocabulary shared by most HTTP APIs."""
    p = path.lower()
    if "embed" in p:
        return ModelType.EMBEDDINGS
    if "/audio/" in p or "speech" in p or "transcri" in p or "text-to-speech" in p or "/tts" in p:
        return ModelType.AUDIO
    if "/images/" in p or "image" in p:
        return ModelType.IMAGE
    if any(s in p for s in ("chat", "completion", "messages", "generate", "responses", "/run/", "converse", "invoke")):
        return ModelType.TEXT
    return ModelType.UNKNOWN


def fill_base(base: str, values: Mapping[str, str]) -> str:
    """``base`` with its ``{placeholders}`` filled from ``values``; a placeholder without a value
    is the client's path missing a segment (an error, never an unfilled host)."""
    if "{" not in base:
        return base
    return base.format_map(_Fill(values))


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        raise GatewayError(ErrorCode.INVALID_PATH, f"missing {key} in provider path")


class JsonApiDefaults:
    """What most JSON APIs share, for a family to inherit and override: the base URL filled from
    the path's values, the model type read from the path, the model named by the body's ``model``."""

    def upstream_base(self, provider: str, base: str, values: Mapping[str, str], path: str) -> str:
        return fill_base(base, values)

    def model_type(self, path: str) -> str:
        return model_type_from_path(path)

    def request_model(self, path: str, body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            return body["model"]
        return None
