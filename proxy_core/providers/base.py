"""The small interface every provider family implements, and the helpers they share.

A *family* is one upstream API shape (OpenAI-compatible, Anthropic, Google, …). Many providers
share a family: Groq, Mistral or a local vLLM are OpenAI-compatible and need only a table entry in
:mod:`proxy_core.providers.registry`. Families read; they never change what is forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

__all__ = ["ModelType", "Usage", "ProviderFamily", "STREAM_DONE", "int_or_none", "model_type_from_path"]


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


class ProviderFamily(Protocol):
    """Reads model, model type and token usage from one API family's requests and responses."""

    id: str
    """The family's name, also the ``format`` a custom provider names in config."""

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
